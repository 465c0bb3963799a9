"""The SQL store: one transaction per unit of work, run off the event loop.

SQLite gets one writer thread and `BEGIN IMMEDIATE` (it wants a single writer; two
writers make each other wait), WAL and `synchronous=FULL` so a 202 means the order is on
disk. PostgreSQL gets a small pool of writer threads, since several connections are
needed to commit fast, and claims with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url

from gateway.service.audit import GENESIS
from gateway.service.ports import AuditRecord, UnitOfWork
from gateway.store.repositories import (
    SqlAgencies,
    SqlAuditLog,
    SqlHandoffs,
    SqlInbound,
    SqlOrders,
    record,
)
from gateway.store.schema import audit_head, audit_log

T = TypeVar("T")


class SqlUnitOfWork:
    """The repositories of one open transaction."""

    def __init__(self, conn: Connection) -> None:
        self.orders = SqlOrders(conn)
        self.handoffs = SqlHandoffs(conn)
        self.inbound = SqlInbound(conn)
        self.agencies = SqlAgencies(conn)
        self.audit = SqlAuditLog(conn)


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
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_size=writers + 2, max_overflow=4, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN IMMEDIATE
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class SqlStore:
    """Runs units of work in threads; SQLite with one writer, PostgreSQL with a few."""

    def __init__(self, url: str, *, writers: int = 4) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = create_store_engine(self.url, writers=writers)
        threads = 1 if self.is_sqlite else writers
        self._writer = ThreadPoolExecutor(threads, thread_name_prefix="lianxin-db")

    async def write(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` in one transaction and return its result once committed."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self.run_sync, work)

    async def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run a read-only `work` (SQLite reads share the writer thread: they are short)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self.run_sync, work, False)

    def run_sync(self, work: Callable[[UnitOfWork], T], writes: bool = True) -> T:
        """Run `work` in one transaction on the calling thread.

        On PostgreSQL a writing transaction takes the audit head's row lock first: every
        writer then locks in the same order (head, then rows), so writers never deadlock,
        and the chain is appended in commit order. (SQLite has one writer anyway.)
        """
        with self.engine.begin() as conn:
            uow = SqlUnitOfWork(conn)
            if writes and not self.is_sqlite:
                uow.audit.lock()
            result = work(uow)
            uow.audit.flush()
            return result

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
        self._writer.shutdown(wait=True)
        self.engine.dispose()
