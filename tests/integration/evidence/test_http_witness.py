"""A witness over HTTP (the hotline platform's callback, say): every checkpoint reaches it,
signed, in order, even when it was down for a while."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from connectors.simulators.server import ServerThread
from gateway.crypto.checkpoint_keys import checkpoint_problem
from gateway.domain.checkpoint import Checkpoint
from gateway.witnessing.witnesses import read_witness_file
from tests.integration.evidence.trail import filled


class Platform:
    """Keeps the checkpoints POSTed to it; answers 503 while `down`."""

    def __init__(self) -> None:
        self.down = 0  # requests still to refuse
        self.kept: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/checkpoints")(self.receive)

    async def receive(self, request: Request) -> Response:
        if self.down:
            self.down -= 1
            return Response(status_code=503)
        self.kept.append(await request.json())
        return Response(status_code=204)


@pytest.fixture
def platform() -> Iterator[tuple[Platform, str]]:
    kept = Platform()
    server = ServerThread(kept.app).start()
    yield kept, f"{server.url}/checkpoints"
    server.stop()


def test_every_checkpoint_reaches_the_platform_in_order_after_an_outage(
    sqlite_url: str, tmp_path: Path, platform: tuple[Platform, str]
) -> None:
    kept, url = platform
    kept.down = 3
    witness = tmp_path / "witness.jsonl"
    filled(sqlite_url, witness, orders=4, witness_urls=[url])
    posted = [Checkpoint.from_json(body["checkpoint"], body["leaves"]) for body in kept.kept]
    assert all(body["type"] == "audit.checkpoint" for body in kept.kept)
    in_file = read_witness_file(witness)
    assert len(in_file) >= 2 and kept.down == 0
    assert [c.statement.number for c in posted] == list(range(1, len(in_file) + 1))
    assert all(checkpoint_problem(c) is None for c in posted)
    assert [c.statement for c in posted] == [c.statement for c in in_file]
