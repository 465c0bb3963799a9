"""The Celery peer's processes: loopback agency, FastAPI intake, Celery worker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.world import AppWorld, Child, free_port, python_child, sink_count
from gateway.crypto.signing import generate_ed25519_key

WORKER = [
    *("-m", "celery", "-A", "bench.peer", "worker"),
    *("--pool", "prefork", "--concurrency", "2", "--loglevel", "WARNING"),
    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
]


class PeerWorld(AppWorld):
    """The peer on loopback: its intake and its Celery worker (whose pool processes are
    counted as the worker's children)."""

    def __init__(self, workdir: Path) -> None:
        self.sink = python_child("bench.sink", free_port(), workdir / "peer-sink.log")
        self.env = {
            **os.environ,
            "BENCH_PEER_AGENCY": f"{self.sink.url}/orders",
            "BENCH_PEER_KEY": generate_ed25519_key(),
            "BENCH_PEER_QUEUE": f"lianxin-peer-{os.getpid()}",
        }
        self.gateway = python_child("bench.peer", free_port(), workdir / "peer.log", self.env)
        worker = Child([sys.executable, *WORKER], 0, workdir / "celery.log", self.env)
        self.helpers = (worker,)

    def delivered(self) -> int:
        """Orders the agency has acknowledged."""
        return sink_count(self.sink.url)
