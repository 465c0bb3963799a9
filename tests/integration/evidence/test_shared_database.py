"""Two gateways' checkpointers on one PostgreSQL database: one chain of checkpoints, each
number made once, every entry covered once, and both witnesses get all of them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.bootstrap import open_sql_store
from gateway.crypto.checkpoint_keys import Ed25519CheckpointSigner, checkpoint_problem
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.audit import AuditEvent
from gateway.domain.checkpoint import Checkpoint
from gateway.domain.errors import CheckpointTaken
from gateway.service.checkpoints import Checkpointer, CheckpointPolicy
from gateway.store.checkpoints import SqlCheckpoints
from gateway.store.migrate import upgrade
from gateway.witnessing.witnesses import FileWitness, read_witness_file
from tests.integration.evidence.trail import filled

pytestmark = pytest.mark.postgres


class Counted(SqlCheckpoints):
    """Counts the checkpoints another gateway stored first."""

    taken = 0

    async def add(self, checkpoint: Checkpoint) -> None:
        try:
            await super().add(checkpoint)
        except CheckpointTaken:
            Counted.taken += 1
            raise


def test_two_checkpointers_race_without_error(postgres_url: str, tmp_path: Path) -> None:
    filled(postgres_url, tmp_path / "first.jsonl", orders=2)
    key = generate_ed25519_key()
    upgrade(postgres_url)

    async def race() -> list[int]:
        stores = [open_sql_store(postgres_url), open_sql_store(postgres_url)]
        makers = [
            Checkpointer(
                Counted(store),
                Ed25519CheckpointSigner(key),
                [FileWitness(tmp_path / f"witness-{n}.jsonl")],
                CheckpointPolicy(max_entries=7),
            )
            for n, store in enumerate(stores)
        ]
        try:
            for _ in range(3):  # more entries between the races
                await stores[0].write(lambda uow: uow.audit.append(_event()))
                await asyncio.gather(*(maker.checkpoint_now() for maker in makers))
            numbers = [c.statement.number for c in await SqlCheckpoints(stores[0]).all()]
            head = await SqlCheckpoints(stores[0]).head_seq()
            last = await SqlCheckpoints(stores[0]).latest()
            assert last is not None and last.statement.last == head
            return numbers
        finally:
            for store in stores:
                await store.aclose()

    Counted.taken = 0
    numbers = asyncio.run(race())
    assert Counted.taken >= 1  # the two did race for a number at least once
    assert numbers == list(range(1, len(numbers) + 1))
    files = ["first.jsonl", "witness-0.jsonl", "witness-1.jsonl"]
    stored = [  # the gateway's own, then those the two raced for (one may have won them all:
        # the other's witness file is then never written)
        checkpoint
        for name in files
        if (tmp_path / name).exists() or name == "first.jsonl"
        for checkpoint in read_witness_file(tmp_path / name)
    ]
    stored = sorted(
        {c.statement.number: c for c in stored}.values(), key=lambda c: c.statement.number
    )
    assert [c.statement.number for c in stored] == numbers
    previous, covered = None, 0
    for checkpoint in stored:
        statement = checkpoint.statement
        assert checkpoint_problem(checkpoint) is None
        assert statement.first == covered + 1
        if previous is not None:
            assert statement.previous == previous.digest()
        previous, covered = statement, statement.last


def _event() -> AuditEvent:
    return AuditEvent("note", detail={"why": "between the races"})
