"""Signed checkpoints of the audit trail, made in batches off the hot path, and witnessed.

Every `poll` seconds the checkpointer reads how far the chain has grown (one indexed
read; the last checkpoint is read once at start-up and kept). When `entries` entries are
waiting, or `interval` seconds have passed and any are, it reads their hashes (each entry
once), adds them to an RFC 9162 tree as it goes (`merkle.Frontier`, hashed off the event
loop), signs a statement of the tree's head and the chain's head, stores it, and hands it
to each witness from memory. Nothing on the path of an order waits for any of this: writers append
entries as before, and the checkpoint's own writes do not queue behind them (see
gateway/store/checkpoints.py).

A checkpoint a witness could not take stays marked unwitnessed and is offered again on
the next pass, in order, so witnesses receive every checkpoint.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.domain.checkpoint import FIRST_PREVIOUS, Checkpoint, Statement, leaf_prefixes
from gateway.domain.errors import CheckpointTaken
from gateway.service import merkle
from gateway.service.ports.evidence import CheckpointSigner, CheckpointStore, TimeStamper, Witness

log = logging.getLogger("lianxin.checkpoints")


@dataclass(frozen=True)
class CheckpointPolicy:
    """When to checkpoint: after `entries` entries, or `interval` seconds with any."""

    interval: float = 10.0
    entries: int = 10_000
    max_entries: int = 50_000  # one checkpoint covers at most this many entries
    poll: float = 1.0


class _Growing:
    """The entries read since the last checkpoint: their tree so far, and their locator."""

    def __init__(self, after: int) -> None:
        self.after = after  # the last entry of the last checkpoint
        self.last = after  # the last entry read
        self.head = ""  # its hash
        self.tree = merkle.Frontier()
        self.prefixes: list[str] = []

    @property
    def count(self) -> int:
        return self.last - self.after

    def absorb(self, rows: list[tuple[int, str]]) -> None:
        """Add the entries `rows` (the next ones, in order) to the tree."""
        self.tree.add([bytes.fromhex(entry_hash) for _seq, entry_hash in rows])
        self.prefixes.append(leaf_prefixes([entry_hash for _seq, entry_hash in rows]))
        self.last, self.head = rows[-1]


class Checkpointer:
    """Makes, stores and witnesses checkpoints."""

    def __init__(
        self,
        store: CheckpointStore,
        signer: CheckpointSigner,
        witnesses: Sequence[Witness],
        policy: CheckpointPolicy,
        *,
        stamper: TimeStamper | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.signer, self.witnesses = store, signer, list(witnesses)
        self.policy, self.stamper, self.clock = policy, stamper, clock
        self._lock = asyncio.Lock()
        self._loaded = False  # the latest checkpoint is read once, then kept
        self._latest: Checkpoint | None = None
        self._growing = _Growing(0)
        self._backlog = True  # at start-up, a previous run may have left some unwitnessed
        self._queue: list[Checkpoint] = []  # made or failed, not yet witnessed, in order

    async def run(self) -> None:
        """Checkpoint and witness whenever due, until cancelled."""
        while True:
            await asyncio.sleep(self.policy.poll)
            # shielded: a closing gateway cancels this loop, never a pass half-way through
            # handing a checkpoint to the witnesses (the closing pass, which waits for this
            # one's lock, would hand the same checkpoint to them again)
            await asyncio.shield(self._logged_tick())

    async def _logged_tick(self) -> None:
        try:
            await self.tick()
        except Exception:  # a database or witness hiccup: the next pass tries again
            log.exception("checkpointing failed; trying again in %.1f s", self.policy.poll)

    async def tick(self) -> None:
        """One pass: read the new entries, checkpoint if due, then witness."""
        async with self._lock:
            await self._catch_up(force=False)
            await self._witness_pending()

    async def checkpoint_now(self) -> Checkpoint | None:
        """Checkpoint every entry appended so far and witness it; the newest checkpoint."""
        async with self._lock:
            # a pass cancelled after its checkpoint was stored (a gateway closing cancels
            # the periodic one) left it unwitnessed and unknown here: read those again
            self._backlog = True
            await self._catch_up(force=True)
            await self._witness_pending()
            return self._latest

    def _due(self, head: int) -> bool:
        waiting = head - self._growing.after
        if waiting <= 0:
            return False
        if waiting >= min(self.policy.entries, self.policy.max_entries) or self._latest is None:
            return True
        return self.clock() - self._latest.statement.at_us / 1e6 >= self.policy.interval

    async def _reload(self) -> None:
        """Take the stored latest checkpoint as the last one, and start the tree after it."""
        self._latest = await self.store.latest()
        self._growing = _Growing(self._latest.statement.last if self._latest else 0)
        self._loaded = True

    async def _catch_up(self, force: bool) -> None:
        """When a checkpoint is due (or `force`), read the entries not yet read up to the
        head as it stands now (not chasing entries appended meanwhile: under load that
        would checkpoint without pause) and checkpoint them, at most `max_entries` each."""
        if not self._loaded:
            await self._reload()
        head = await self.store.head_seq()
        if not (force or self._due(head)):
            return
        while True:
            growing = self._growing
            limit = min(self.policy.max_entries - growing.count, head - growing.last)
            rows = await self.store.entry_hashes(growing.last, limit) if limit > 0 else []
            if rows:
                await asyncio.to_thread(growing.absorb, rows)  # hashing: off the event loop
            else:  # nothing more to read in this pass
                head = min(head, growing.last)
            reached = growing.last >= head
            if growing.count and (reached or growing.count >= self.policy.max_entries):
                await self._make()
            elif reached:
                return

    async def _make(self) -> None:
        growing, previous = self._growing, self._latest
        statement = Statement(
            number=previous.statement.number + 1 if previous else 1,
            first=growing.after + 1,
            last=growing.last,
            head=growing.head,
            root=growing.tree.root(),
            previous=previous.statement.digest() if previous else FIRST_PREVIOUS,
            at_us=int(self.clock() * 1_000_000),
            key_id=self.signer.key_id,
            algorithm=self.signer.algorithm,
        )
        data = statement.to_bytes()
        checkpoint = Checkpoint(
            statement,
            self.signer.sign(data),
            self.signer.public_key,
            await self._stamp(data),
            "".join(growing.prefixes),
        )
        try:
            await self.store.add(checkpoint)
        except CheckpointTaken:  # another gateway on this database, or a pass of ours that
            await self._reload()  # was cancelled after storing it, was first: go on from it,
            self._backlog = True  # and witness what is stored and not witnessed yet
            return
        self._latest, self._growing = checkpoint, _Growing(statement.last)
        self._queue.append(checkpoint)
        log.info("checkpoint %d: entries %d-%d", statement.number, statement.first, statement.last)

    async def _stamp(self, data: bytes) -> str | None:
        if self.stamper is None:
            return None
        try:
            return base64.b64encode(await self.stamper.stamp(data)).decode()
        except Exception:  # the stamp is optional: the signed checkpoint stands without it
            log.exception("time-stamping a checkpoint failed; stored without a stamp")
            return None

    async def _witness_pending(self) -> None:
        if self._backlog:  # once: what a previous run left (the rest is kept in memory)
            self._queue = await self.store.unwitnessed()
            self._backlog = False
        while self._queue:
            checkpoint = self._queue[0]
            results = await asyncio.gather(
                *(witness.record(checkpoint) for witness in self.witnesses),
                return_exceptions=True,
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            for witness, result in zip(self.witnesses, results, strict=True):
                if isinstance(result, BaseException):
                    log.warning("witness %s: %s", witness.name, result)
            if failures:
                return  # in order: the later ones wait for this one
            await self.store.mark_witnessed(checkpoint.statement.number)
            self._queue.pop(0)
