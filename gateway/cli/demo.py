"""`lianxin demo`: the scripted demo on loopback simulators."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.cli.invocation import Invocation


def add_verbs(verbs: Any) -> None:
    """Add `demo`."""
    demo = verbs.add_parser("demo", help="run the scripted demo on loopback simulators")
    demo.add_argument("--keep", type=Path, metavar="DIR", help="keep the database and logs in DIR")
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace, _invocation: Invocation) -> int:
    """Run the demo; it wires its own simulated world and settings."""
    from gateway.demo.run import run_demo

    return run_demo(keep=args.keep)
