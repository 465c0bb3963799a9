"""The checkpointer with in-memory ports: batches, chaining, signing, witnessing, retries."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from gateway.crypto.checkpoint_keys import Ed25519CheckpointSigner, checkpoint_problem
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.checkpoint import FIRST_PREVIOUS, Checkpoint
from gateway.domain.errors import CheckpointTaken, WitnessError
from gateway.service import merkle
from gateway.service.checkpoints import Checkpointer, CheckpointPolicy


class Entries:
    """A CheckpointStore over a list of entry hashes."""

    def __init__(self) -> None:
        self.hashes: list[str] = []
        self.kept: list[Checkpoint] = []
        self.witnessed: set[int] = set()

    def append(self, count: int) -> None:
        start = len(self.hashes)
        self.hashes += [hashlib.sha256(str(start + i).encode()).hexdigest() for i in range(count)]

    async def latest(self) -> Checkpoint | None:
        return self.kept[-1] if self.kept else None

    async def head_seq(self) -> int:
        return len(self.hashes)

    async def entry_hashes(self, after: int, limit: int) -> list[tuple[int, str]]:
        return [(s + 1, self.hashes[s]) for s in range(after, min(after + limit, len(self.hashes)))]

    async def add(self, checkpoint: Checkpoint) -> None:
        self.kept.append(checkpoint)

    async def unwitnessed(self) -> list[Checkpoint]:
        return [c for c in self.kept if c.statement.number not in self.witnessed]

    async def mark_witnessed(self, number: int) -> None:
        self.witnessed.add(number)


class Witness:
    def __init__(self, failing: bool = False) -> None:
        self.name, self.failing, self.kept = "test", failing, list[Checkpoint]()

    async def record(self, checkpoint: Checkpoint) -> None:
        if self.failing:
            raise WitnessError("down")
        self.kept.append(checkpoint)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def checkpointer(store: Entries, witness: Witness, clock: Clock, **policy: float) -> Checkpointer:
    signer = Ed25519CheckpointSigner(generate_ed25519_key())
    rules = CheckpointPolicy(interval=10, entries=100, max_entries=250, **policy)  # type: ignore[arg-type]
    return Checkpointer(store, signer, [witness], rules, clock=clock)


async def test_nothing_is_made_until_enough_entries_or_time() -> None:
    store, witness, clock = Entries(), Witness(), Clock()
    maker = checkpointer(store, witness, clock)
    await maker.tick()
    assert store.kept == []
    store.append(5)
    await maker.tick()  # the first checkpoint is made at once
    assert len(store.kept) == 1
    store.append(50)
    clock.now += 5
    await maker.tick()
    assert len(store.kept) == 1  # 50 < 100 entries and 5 s < 10 s
    clock.now += 5
    await maker.tick()
    assert len(store.kept) == 2 and store.kept[1].statement.first == 6


async def test_checkpoints_chain_cover_every_entry_once_and_are_signed() -> None:
    store, witness, clock = Entries(), Witness(), Clock()
    maker = checkpointer(store, witness, clock)
    store.append(620)
    latest = await maker.checkpoint_now()
    assert latest is not None and latest.statement.last == 620
    sizes = [c.statement.size for c in store.kept]
    assert sizes == [250, 250, 120]  # at most max_entries each
    previous = FIRST_PREVIOUS
    for checkpoint in store.kept:
        statement = checkpoint.statement
        leaves = [bytes.fromhex(h) for h in store.hashes[statement.first - 1 : statement.last]]
        assert statement.root == merkle.root(leaves)
        assert statement.head == store.hashes[statement.last - 1]
        assert statement.previous == previous
        assert checkpoint_problem(checkpoint) is None
        previous = statement.digest()
    assert witness.kept == store.kept


async def test_a_witness_that_fails_gets_every_checkpoint_later_in_order() -> None:
    store, witness, clock = Entries(), Witness(failing=True), Clock()
    maker = checkpointer(store, witness, clock)
    store.append(300)
    await maker.checkpoint_now()
    assert witness.kept == [] and store.witnessed == set()
    witness.failing = False
    await maker.tick()
    assert [c.statement.number for c in witness.kept] == [1, 2]


def test_a_tampered_statement_or_foreign_key_is_named() -> None:
    signer = Ed25519CheckpointSigner(generate_ed25519_key())
    from gateway.domain.checkpoint import Statement

    statement = Statement(1, 1, 3, "a" * 64, "b" * 64, FIRST_PREVIOUS, 5, signer.key_id, "ed25519")
    good = Checkpoint(statement, signer.sign(statement.to_bytes()), signer.public_key)
    assert checkpoint_problem(good) is None
    assert checkpoint_problem(good, {signer.public_key}) is None
    other = Ed25519CheckpointSigner(generate_ed25519_key())
    assert "not trusted" in str(checkpoint_problem(good, {other.public_key}))
    forged = Checkpoint(
        Statement(1, 1, 4, "a" * 64, "b" * 64, FIRST_PREVIOUS, 5, signer.key_id, "ed25519"),
        good.signature,
        signer.public_key,
    )
    assert "signature does not verify" in str(checkpoint_problem(forged))
    swapped = Checkpoint(statement, good.signature, other.public_key)
    assert "does not match key id" in str(checkpoint_problem(swapped))


@pytest.mark.parametrize("size", [1, 2])
def test_the_statement_bytes_are_canonical(size: int) -> None:
    from gateway.domain.checkpoint import Statement

    statement = Statement(1, 1, size, "a" * 64, "b" * 64, FIRST_PREVIOUS, 5, "k", "ed25519")
    text = statement.to_bytes().decode()
    assert text.startswith('{"algorithm":"ed25519","at_us":5,') and " " not in text


class Busy(Entries):
    """Entries that keep arriving while the checkpointer reads them (a loaded gateway)."""

    async def entry_hashes(self, after: int, limit: int) -> list[tuple[int, str]]:
        rows = await super().entry_hashes(after, limit)
        self.append(100)
        return rows


async def test_a_pass_stops_at_the_head_it_started_from_under_load() -> None:
    store, witness, clock = Busy(), Witness(), Clock()
    maker = checkpointer(store, witness, clock)
    store.append(600)
    await maker.tick()
    assert [c.statement.last for c in store.kept] == [250, 500, 600]
    assert len(store.hashes) == 900  # appended meanwhile: left for the next pass


class Shared(Entries):
    """A database another gateway checkpoints too: it wins the race for number 1."""

    def __init__(self, rival: Checkpoint) -> None:
        super().__init__()
        self.rival: Checkpoint | None = rival

    async def add(self, checkpoint: Checkpoint) -> None:
        if self.rival is not None:
            self.kept.append(self.rival)
            self.rival = None
            raise CheckpointTaken("checkpoint 1 was made elsewhere")
        self.kept.append(checkpoint)


async def test_a_checkpoint_another_gateway_made_first_is_taken_as_it_is() -> None:
    witness, clock = Witness(), Clock()
    rival_store = Entries()
    rival_store.append(300)
    await checkpointer(rival_store, Witness(), clock).checkpoint_now()
    store = Shared(rival_store.kept[0])
    store.hashes = list(rival_store.hashes)
    latest = await checkpointer(store, witness, clock).checkpoint_now()
    assert latest is not None and latest.statement.last == 300
    assert [c.statement.number for c in store.kept] == [1, 2]
    assert store.kept[1].statement.previous == store.kept[0].statement.digest()


class Counted(Entries):
    """Entries that count what the checkpointer reads."""

    def __init__(self) -> None:
        super().__init__()
        self.rows_read = self.latest_reads = self.unwitnessed_reads = 0

    async def entry_hashes(self, after: int, limit: int) -> list[tuple[int, str]]:
        rows = await super().entry_hashes(after, limit)
        self.rows_read += len(rows)
        return rows

    async def latest(self) -> Checkpoint | None:
        self.latest_reads += 1
        return await super().latest()

    async def unwitnessed(self) -> list[Checkpoint]:
        self.unwitnessed_reads += 1
        return await super().unwitnessed()


async def test_passes_read_each_entry_once_and_the_latest_checkpoint_only_at_start() -> None:
    store, witness, clock = Counted(), Witness(), Clock()
    maker = checkpointer(store, witness, clock)
    for _ in range(12):  # 30 entries a pass: the first at once, then every 100 or more
        store.append(30)
        await maker.tick()
    assert [c.statement.last for c in store.kept] == [30, 150, 270]
    assert store.rows_read == 270  # each entry once, when its checkpoint is made
    assert store.latest_reads == 1 and store.unwitnessed_reads == 1
    assert [c.statement.number for c in witness.kept] == [1, 2, 3]
    for checkpoint in store.kept:
        statement = checkpoint.statement
        leaves = [bytes.fromhex(h) for h in store.hashes[statement.first - 1 : statement.last]]
        assert statement.root == merkle.root(leaves)
        assert checkpoint.leaves == "".join(
            h[:16] for h in store.hashes[statement.first - 1 : statement.last]
        )


class StoredThenCancelled(Entries):
    """A store that keeps checkpoint 2 and then never answers (the pass awaiting it is
    cancelled, as a closing gateway cancels its checkpointer), and that refuses a number
    it already holds, as the database does."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled = asyncio.Event()

    async def add(self, checkpoint: Checkpoint) -> None:
        if any(c.statement.number == checkpoint.statement.number for c in self.kept):
            raise CheckpointTaken(f"checkpoint {checkpoint.statement.number} exists")
        self.kept.append(checkpoint)
        if checkpoint.statement.number == 2:
            self.stalled.set()
            await asyncio.Event().wait()  # the answer never comes: the pass is cancelled


async def test_a_checkpoint_stored_by_a_cancelled_pass_is_witnessed_by_the_closing_one() -> None:
    store, witness, clock = StoredThenCancelled(), Witness(), Clock()
    maker = checkpointer(store, witness, clock)
    store.append(40)
    await maker.tick()  # checkpoint 1, witnessed
    store.append(150)
    periodic = asyncio.create_task(maker.tick())  # checkpoint 2: stored, then cancelled
    await store.stalled.wait()
    periodic.cancel()
    await asyncio.gather(periodic, return_exceptions=True)
    assert [c.statement.last for c in store.kept] == [40, 190]
    assert [c.statement.number for c in witness.kept] == [1]
    await maker.checkpoint_now()
    assert [c.statement.number for c in witness.kept] == [1, 2], "stored, so it is witnessed"


class SlowWitness(Witness):
    """Takes each checkpoint, then answers only when `answer` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.taking, self.answer = asyncio.Event(), asyncio.Event()

    async def record(self, checkpoint: Checkpoint) -> None:
        self.kept.append(checkpoint)
        self.taking.set()
        await self.answer.wait()


async def test_closing_during_a_periodic_pass_hands_each_checkpoint_to_a_witness_once() -> None:
    store, witness, clock = Entries(), SlowWitness(), Clock()
    maker = checkpointer(store, witness, clock, poll=0.01)
    store.append(40)
    periodic = asyncio.create_task(maker.run())
    await witness.taking.wait()  # the pass is handing checkpoint 1 over
    periodic.cancel()  # the gateway closes
    await asyncio.gather(periodic, return_exceptions=True)
    closing = asyncio.create_task(maker.checkpoint_now())
    witness.answer.set()
    await closing
    assert [c.statement.number for c in witness.kept] == [1]
    assert store.witnessed == {1}
