"""Checkpoints in SQL (`audit_checkpoints`), and the audit rows evidence is built from."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.domain.audit import AuditRecord
from gateway.domain.checkpoint import Checkpoint, Statement
from gateway.domain.errors import CheckpointTaken, UnknownOrder
from gateway.store.audit_log import record
from gateway.store.repositories import inbound_body
from gateway.store.schema import audit_checkpoints, audit_head, audit_log, inbound_messages
from gateway.store.sql import SqlStore, SqlUnitOfWork

cp = audit_checkpoints


def _checkpoint(row: Any) -> Checkpoint:
    statement = Statement(**json.loads(row.statement))
    leaves = getattr(row, "leaves", "")
    return Checkpoint(statement, row.signature, row.public_key, row.timestamp, leaves)


#: a checkpoint without its leaves (17 bytes an entry): what every pass reads
BRIEF = (cp.c.number, cp.c.statement, cp.c.signature, cp.c.public_key, cp.c.timestamp)


def _conn(uow: Any) -> Connection:
    assert isinstance(uow, SqlUnitOfWork)
    return uow.conn


class SqlCheckpoints:
    """The CheckpointStore and EvidenceSource ports over the gateway's SqlStore."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def latest(self) -> Checkpoint | None:
        query = select(*BRIEF).order_by(cp.c.number.desc()).limit(1)
        row = await self.store.read(lambda uow: _conn(uow).execute(query).first())
        return None if row is None else _checkpoint(row)

    async def head_seq(self) -> int:
        query = select(audit_head.c.seq).where(audit_head.c.id == 1)
        seq = await self.store.read(lambda uow: _conn(uow).execute(query).scalar())
        return int(seq or 0)

    async def entry_hashes(self, after: int, limit: int) -> list[tuple[int, str]]:
        def read(uow: Any) -> list[tuple[int, str]]:
            conn = _conn(uow)  # entries up to the head only: never a half-committed tail
            head = conn.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar()
            query = (
                select(audit_log.c.seq, audit_log.c.entry_hash)
                .where(audit_log.c.seq > after, audit_log.c.seq <= (head or 0))
                .order_by(audit_log.c.seq)
                .limit(limit)
            )
            return [(int(seq), str(h)) for seq, h in conn.execute(query)]

        return await self.store.read(read)

    async def add(self, checkpoint: Checkpoint) -> None:
        statement = checkpoint.statement
        values = {
            "number": statement.number,
            "first_seq": statement.first,
            "last_seq": statement.last,
            "statement": json.dumps(checkpoint.to_json()["statement"], sort_keys=True),
            "signature": checkpoint.signature,
            "public_key": checkpoint.public_key,
            "timestamp": checkpoint.timestamp,
            "leaves": checkpoint.leaves,
            "witnessed": False,
        }
        try:
            await self._write_aside(lambda uow: _conn(uow).execute(insert(cp), values))
        except IntegrityError as exc:  # gateways sharing a database race for each number
            raise CheckpointTaken(f"checkpoint {statement.number} was made elsewhere") from exc

    async def unwitnessed(self) -> list[Checkpoint]:
        query = select(cp).where(~cp.c.witnessed).order_by(cp.c.number)
        rows = await self.store.read(lambda uow: list(_conn(uow).execute(query)))
        return [_checkpoint(row) for row in rows]

    async def mark_witnessed(self, number: int) -> None:
        change = update(cp).where(cp.c.number == number).values(witnessed=True)
        await self._write_aside(lambda uow: _conn(uow).execute(change))

    async def _write_aside(self, work: Callable[[Any], object]) -> None:
        """A checkpoint's own write. On PostgreSQL it runs on a pooled connection of its
        own: it takes no audit head lock and needs no group commit, so it neither waits
        behind the writers' queue nor holds it up. SQLite has one writer for everything."""
        if self.store.is_sqlite:
            await self.store.write(work, audited=False)
        else:
            await asyncio.to_thread(self.store.run_sync, work, False)

    async def all(self) -> list[Checkpoint]:
        """Every stored checkpoint, oldest first."""
        rows = await self.store.read(
            lambda uow: list(_conn(uow).execute(select(cp).order_by(cp.c.number)))
        )
        return [_checkpoint(row) for row in rows]

    async def order_entries(self, order_id: str) -> list[AuditRecord]:
        query = select(audit_log).where(audit_log.c.order_id == order_id).order_by(audit_log.c.seq)
        rows = await self.store.read(lambda uow: list(_conn(uow).execute(query)))
        if not rows:
            raise UnknownOrder(f"no audit entries for work order '{order_id}'")
        return [record(row) for row in rows]

    async def checkpoint_covering(self, seq: int) -> Checkpoint | None:
        query = select(*BRIEF).where(cp.c.first_seq <= seq, cp.c.last_seq >= seq).limit(1)
        row = await self.store.read(lambda uow: _conn(uow).execute(query).first())
        return None if row is None else _checkpoint(row)

    async def entry_hashes_between(self, first: int, last: int) -> list[str]:
        query = (
            select(audit_log.c.entry_hash)
            .where(audit_log.c.seq >= first, audit_log.c.seq <= last)
            .order_by(audit_log.c.seq)
        )
        return await self.store.read(
            lambda uow: [str(h) for h in _conn(uow).execute(query).scalars()]
        )

    async def received_bodies(
        self, messages: list[tuple[str, str]]
    ) -> dict[tuple[str, str], bytes]:
        wanted = set(messages)
        parties = {party for party, _ in wanted}
        ids = {message_id for _, message_id in wanted}
        query = select(inbound_messages).where(
            inbound_messages.c.party.in_(parties), inbound_messages.c.message_id.in_(ids)
        )
        rows = await self.store.read(lambda uow: list(_conn(uow).execute(query)))
        seal = self.store.seal
        bodies = {(r.party, r.message_id): inbound_body(r, seal) for r in rows}
        return {key: body for key, body in bodies.items() if key in wanted and body is not None}

    async def count(self) -> int:
        """How many checkpoints are stored."""
        query = select(func.count()).select_from(cp)
        return int(await self.store.read(lambda uow: _conn(uow).execute(query).scalar() or 0))
