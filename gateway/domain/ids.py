"""Identifiers: time-ordered, unguessable, made once."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    """`prefix_` + 12 hex digits of milliseconds + 16 random hex digits (sortable by time).

    The random digits are the OS's, as `secrets.token_hex` gives them, without its three
    calls in Python (a few ids are made for every order)."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{os.urandom(8).hex()}"
