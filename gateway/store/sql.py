"""The SQL store: one transaction per unit of work, run off the event loop.

SQLite gets one writer thread and `BEGIN IMMEDIATE` (it wants a single writer; two
writers make each other wait), WAL and `synchronous=FULL` so a 202 means the order is on
disk. On PostgreSQL every writing transaction takes the audit head's lock, so writers
commit one at a time anyway: one thread writes normal work and one is kept for urgent
work (emergency handoffs), which then waits for at most one normal transaction; reads run
on their own threads. Claims use `FOR UPDATE SKIP LOCKED`, so several processes share
the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url

from gateway.sealing import ephemeral_keyring
from gateway.service.audit import GENESIS
from gateway.service.ports import AuditRecord, DataCipher, UnitOfWork
from gateway.store.activity import SqlActivity
from gateway.store.keys import SqlKeys
from gateway.store.repositories import (
    SqlAgencies,
    SqlAuditLog,
    SqlCursors,
    SqlHandoffs,
    SqlInbound,
    SqlOrders,
    record,
)
from gateway.store.retention import SqlRetention
from gateway.store.schema import audit_head, audit_log
from gateway.store.standings import SqlStandings
from gateway.store.watches import SqlWatches
from gateway.store.writer import PriorityWriter

T = TypeVar("T")
log = logging.getLogger("lianxin.store")
SLOW_TRANSACTION = 1.0  # seconds; longer ones are logged: they delay everything queued
READ_SNAPSHOT = "lianxin_read_snapshot"  # execution option: a read-only snapshot transaction


class SqlUnitOfWork:
    """The repositories of one open transaction."""

    def __init__(self, conn: Connection, cipher: DataCipher) -> None:
        self.orders = SqlOrders(conn, cipher)
        self.handoffs = SqlHandoffs(conn, cipher)
        self.inbound = SqlInbound(conn)
        self.agencies = SqlAgencies(conn)
        self.standings = SqlStandings(conn)
        self.audit = SqlAuditLog(conn)
        self.cursors = SqlCursors(conn)
        self.watches = SqlWatches(conn)
        self.keys = SqlKeys(conn)
        self.retention = SqlRetention(conn)
        self.activity = SqlActivity(conn)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_store_engine(url: str, *, writers: int = 4) -> Engine:
    """An engine for `url` with Lianxin's connection settings."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_size=writers + 2, max_overflow=4, pool_pre_ping=True)


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the lock at BEGIN; a read snapshot (audit verify) must not block them."""
    snapshot = conn.get_execution_options().get(READ_SNAPSHOT, False)
    conn.exec_driver_sql("BEGIN" if snapshot else "BEGIN IMMEDIATE")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN IMMEDIATE
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class SqlStore:
    """Runs units of work in threads; SQLite with one writer, PostgreSQL with a few.

    `cipher` seals personal data at rest (bootstrap passes the LIANXIN_DATA_KEYS keyring);
    without one, a random key: enough for tools that never read what others sealed.
    """

    def __init__(self, url: str, *, writers: int = 4, cipher: DataCipher | None = None) -> None:
        self.cipher: DataCipher = cipher or ephemeral_keyring()
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = create_store_engine(self.url, writers=writers)
        self._writer = PriorityWriter("lianxin-db", urgent_lane=not self.is_sqlite)

    async def write(self, work: Callable[[UnitOfWork], T], urgent: bool = False) -> T:
        """Run `work` in one transaction and return its result once committed.

        `urgent` work (emergency handoffs) goes ahead of everything queued that is not.
        """
        return await asyncio.wrap_future(self._writer.submit(self.run_sync, work, urgent=urgent))

    async def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run a read-only `work` (SQLite reads share the writer thread: they are short)."""
        if not self.is_sqlite:
            return await asyncio.to_thread(self.run_sync, work, False)
        return await asyncio.wrap_future(self._writer.submit(self.run_sync, work, False))

    def run_sync(self, work: Callable[[UnitOfWork], T], writes: bool = True) -> T:
        """Run `work` in one transaction on the calling thread.

        On PostgreSQL a writing transaction takes the audit head's row lock first: every
        writer then locks in the same order (head, then rows), so writers never deadlock,
        and the chain is appended in commit order. (SQLite has one writer anyway.)
        """
        started = time.perf_counter()
        with self.engine.begin() as conn:
            uow = SqlUnitOfWork(conn, self.cipher)
            if writes and not self.is_sqlite:
                uow.audit.lock()
            result = work(uow)
            uow.audit.flush()
        took = time.perf_counter() - started
        if took > SLOW_TRANSACTION:
            name = getattr(work, "__qualname__", "a unit of work")
            log.warning("slow transaction: %s took %.2f s (lock waits included)", name, took)
        return result

    @contextmanager
    def audit_snapshot(
        self, batch: int = 5000
    ) -> Iterator[tuple[tuple[int, str], Iterator[AuditRecord]]]:
        """The head and every entry, read in one snapshot while writers go on.

        Read in two transactions, a live chain looks broken: entries committed after the
        head was read (or before, the other way round) do not match it. REPEATABLE READ on
        PostgreSQL and one deferred transaction on SQLite (WAL) see one committed state.
        """
        options: dict[str, Any] = {"stream_results": True, READ_SNAPSHOT: True}
        if not self.is_sqlite:
            options["isolation_level"] = "REPEATABLE READ"
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
            head = (row[0], row[1]) if row else (0, GENESIS)
            result = conn.execute(select(audit_log).order_by(audit_log.c.seq))
            yield head, (record(entry) for rows in result.partitions(batch) for entry in rows)

    def audit_records(self, batch: int = 5000) -> Iterator[AuditRecord]:
        """Every audit entry in sequence order, streamed."""
        with self.engine.connect().execution_options(stream_results=True) as conn:
            result = conn.execute(select(audit_log).order_by(audit_log.c.seq))
            for rows in result.partitions(batch):
                yield from (record(row) for row in rows)

    def audit_head(self) -> tuple[int, str]:
        """The last sequence number and hash the chain's head row holds."""
        with self.engine.connect() as conn:
            row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
        return (row[0], row[1]) if row else (0, GENESIS)

    async def aclose(self) -> None:
        """Finish running work and release connections."""
        await asyncio.to_thread(self._writer.shutdown)
        self.engine.dispose()
