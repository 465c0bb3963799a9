"""The reference pipeline's processes: the loopback agency and `python -m bench.reference`."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from bench.world import engine_for, free_port, held_by_sink, python_child
from gateway.crypto.signing import generate_ed25519_key

DELIVERED = text("SELECT count(*) FROM ref_outbox WHERE state = 'delivered'")


class ReferenceWorld:
    """The reference app on `database_url` and its agency; quacks like World."""

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

    def __enter__(self) -> ReferenceWorld:
        self.sink.wait_ready("/counts")
        self.gateway.wait_ready("/docs")
        return self

    def __exit__(self, *exc: object) -> None:
        for child in (self.gateway, self.sink):
            child.stop()

    def delivered(self) -> int:
        """Deliveries recorded as delivered in the reference's own database."""
        with engine_for(self.database_url).connect() as conn:
            return int(conn.execute(DELIVERED).scalar_one())

    @property
    def ports(self) -> list[int]:
        """The intake's port."""
        return [self.gateway.port]

    def server_pids(self) -> list[int]:
        """The reference process (its writer thread included)."""
        return [self.gateway.pid]

    def arrivals(self, flow_ids: list[str]) -> dict[str, float]:
        """flow_id → wall-clock time the agency first held it, for those of `flow_ids` it holds."""
        return held_by_sink(self.sink.url, flow_ids)
