"""Signed checkpoints of the audit trail, made in batches off the hot path, and witnessed.

Every `poll` seconds the checkpointer reads how far the chain has grown. When `entries`
entries have been appended since the last checkpoint, or `interval` seconds have passed
and any have, it reads their hashes, builds their RFC 9162 Merkle tree, signs a statement
of its root and the chain's head, stores it, and hands it to each witness. Nothing on
the path of an order waits for any of this: writers append entries as before.

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
from gateway.service.checkpoint_ports import CheckpointSigner, CheckpointStore, TimeStamper, Witness

log = logging.getLogger("lianxin.checkpoints")


@dataclass(frozen=True)
class CheckpointPolicy:
    """When to checkpoint: after `entries` entries, or `interval` seconds with any."""

    interval: float = 10.0
    entries: int = 10_000
    max_entries: int = 50_000  # one checkpoint covers at most this many entries
    poll: float = 1.0


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
        self._unwitnessed = True  # at start-up, a previous run may have left some

    async def run(self) -> None:
        """Checkpoint and witness whenever due, until cancelled."""
        while True:
            await asyncio.sleep(self.policy.poll)
            try:
                await self.tick()
            except Exception:  # a database or witness hiccup: the next pass tries again
                log.exception("checkpointing failed; trying again in %.1f s", self.policy.poll)

    async def tick(self) -> None:
        """One pass: checkpoint if due, then offer unwitnessed checkpoints to witnesses."""
        async with self._lock:
            latest = await self.store.latest()
            if await self._due(latest):
                await self._catch_up(latest)
            await self._witness_pending()

    async def checkpoint_now(self) -> Checkpoint | None:
        """Checkpoint every entry appended so far and witness it; the newest checkpoint."""
        async with self._lock:
            latest = await self._catch_up(await self.store.latest())
            await self._witness_pending()
            return latest

    async def _due(self, latest: Checkpoint | None) -> bool:
        covered = latest.statement.last if latest else 0
        waiting = await self.store.head_seq() - covered
        if waiting <= 0:
            return False
        if waiting >= self.policy.entries or latest is None:
            return True
        return self.clock() - latest.statement.at_us / 1e6 >= self.policy.interval

    async def _catch_up(self, latest: Checkpoint | None) -> Checkpoint | None:
        """Checkpoint up to the head as it stands now (not chasing entries appended
        meanwhile: under load that would checkpoint without pause)."""
        head = await self.store.head_seq()
        while (after := latest.statement.last if latest else 0) < head:
            limit = min(self.policy.max_entries, head - after)
            rows = await self.store.entry_hashes(after, limit)
            if not rows:
                return latest
            try:
                latest = await self._make(latest, rows)
            except CheckpointTaken:  # another gateway on this database was first: go on
                latest = await self.store.latest()
        return latest

    async def _make(self, previous: Checkpoint | None, rows: list[tuple[int, str]]) -> Checkpoint:
        hashes = [entry_hash for _seq, entry_hash in rows]
        statement = Statement(
            number=previous.statement.number + 1 if previous else 1,
            first=rows[0][0],
            last=rows[-1][0],
            head=hashes[-1],
            root=merkle.root([bytes.fromhex(h) for h in hashes]),
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
            leaf_prefixes(hashes),
        )
        self._unwitnessed = True
        await self.store.add(checkpoint)
        log.info("checkpoint %d: entries %d-%d", statement.number, statement.first, statement.last)
        return checkpoint

    async def _stamp(self, data: bytes) -> str | None:
        if self.stamper is None:
            return None
        try:
            return base64.b64encode(await self.stamper.stamp(data)).decode()
        except Exception:  # the stamp is optional: the signed checkpoint stands without it
            log.exception("time-stamping a checkpoint failed; stored without a stamp")
            return None

    async def _witness_pending(self) -> None:
        if not self._unwitnessed:  # nothing made or failed since the last pass: no read
            return
        for checkpoint in await self.store.unwitnessed():
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
        self._unwitnessed = False
