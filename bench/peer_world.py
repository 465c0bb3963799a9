"""The Celery peer's processes: loopback agency, FastAPI intake, Celery worker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.world import Child, free_port, held_by_sink, python_child, sink_count
from gateway.crypto.signing import generate_ed25519_key


class PeerWorld:
    """The peer on loopback; quacks like World for the latency benchmark."""

    def __init__(self, workdir: Path) -> None:
        self.sink = python_child("bench.sink", free_port(), workdir / "peer-sink.log")
        self.env = {
            **os.environ,
            "BENCH_PEER_AGENCY": f"{self.sink.url}/orders",
            "BENCH_PEER_KEY": generate_ed25519_key(),
            "BENCH_PEER_QUEUE": f"lianxin-peer-{os.getpid()}",
        }
        self.gateway = python_child("bench.peer", free_port(), workdir / "peer.log", self.env)
        worker = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.peer",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.worker = Child(worker, 0, workdir / "celery.log", self.env)

    def __enter__(self) -> PeerWorld:
        self.sink.wait_ready("/counts")
        self.gateway.wait_ready("/docs")
        return self

    def __exit__(self, *exc: object) -> None:
        for child in (self.gateway, self.worker, self.sink):
            child.stop()

    def delivered(self) -> int:
        """Orders the agency has acknowledged."""
        return sink_count(self.sink.url)

    @property
    def ports(self) -> list[int]:
        """The intake's port."""
        return [self.gateway.port]

    def server_pids(self) -> list[int]:
        """Intake and the Celery worker (its pool processes are counted as children)."""
        return [self.gateway.pid, self.worker.pid]

    def arrivals(self, flow_ids: list[str]) -> dict[str, float]:
        """flow_id → wall-clock time the agency first held it, for those of `flow_ids` it holds."""
        return held_by_sink(self.sink.url, flow_ids)
