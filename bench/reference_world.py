"""The reference pipeline's processes: the loopback agency and `python -m bench.reference`."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from bench.world import AppWorld, engine_for, free_port, python_child
from gateway.crypto.signing import generate_ed25519_key

DELIVERED = text("SELECT count(*) FROM ref_outbox WHERE state = 'delivered'")


class ReferenceWorld(AppWorld):
    """The reference app on `database_url` (its writer thread in the same process) and
    its agency."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.sink = python_child("bench.sink", free_port(), workdir / "reference-sink.log")
        self.env = {
            **os.environ,
            "BENCH_REFERENCE_DATABASE": database_url,
            "BENCH_REFERENCE_AGENCY": f"{self.sink.url}/orders",
            "BENCH_REFERENCE_KEY": generate_ed25519_key(),
        }
        log = workdir / "reference.log"
        self.gateway = python_child("bench.reference", free_port(), log, self.env)

    def delivered(self) -> int:
        """Deliveries recorded as delivered in the reference's own database."""
        with engine_for(self.database_url).connect() as conn:
            return int(conn.execute(DELIVERED).scalar_one())
