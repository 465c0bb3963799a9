"""A writer thread keeps one connection across its transactions (`gateway.store.held`):
one pool checkout for many units of work, each still begun as before (SQLite's BEGIN
IMMEDIATE); a unit that fails leaves the connection usable; `aclose` gives it back, so
no SQLite file handle nor PostgreSQL backend is left open."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from gateway.bootstrap import open_sql_store
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore
from tests.integration.store.units import noting

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

UNITS = 5


def _fails(uow: UnitOfWork) -> None:
    uow.cursors.save("doomed", "1", 1.0)
    raise ValueError("this unit of work fails")


def _count(store: SqlStore, name: str) -> list[Any]:
    seen: list[Any] = []
    event.listen(store.engine, name, lambda *args: seen.append(args))
    return seen


async def _one_by_one(store: SqlStore, count: int) -> None:
    for n in range(count):  # awaited in turn: one transaction each, no group commit
        assert await store.write(noting(f"o-{n}")) == f"o-{n}"


def test_a_writer_checks_out_one_connection_for_all_its_transactions(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url, writers=1)
    checkouts, checkins = _count(store, "checkout"), _count(store, "checkin")
    begins = _count(store, "begin")

    async def scenario() -> None:
        await _one_by_one(store, UNITS)
        with pytest.raises(ValueError, match="fails"):
            await store.write(_fails)
        await _one_by_one(store, UNITS)  # the failed unit's rollback left it usable
        await store.aclose()

    asyncio.run(scenario())
    assert len(checkouts) == 1
    assert len(checkins) == 1  # given back by aclose
    assert len(begins) == 2 * UNITS + 1  # each transaction still begins (BEGIN IMMEDIATE...)


def test_a_held_sqlite_connection_begins_each_transaction_immediate(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    store = open_sql_store(sqlite_url)
    statements: list[str] = []
    event.listen(  # what SQLite itself runs: BEGIN is sent on the driver
        store.engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(statements.append)
    )
    asyncio.run(_one_by_one(store, UNITS))
    asyncio.run(store.aclose())
    assert statements.count("BEGIN IMMEDIATE") == UNITS


def test_closing_the_sqlite_store_leaves_no_file_handle_open(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    database = Path(make_url(sqlite_url).database or "").resolve()
    store = open_sql_store(sqlite_url)
    asyncio.run(_one_by_one(store, UNITS))
    assert _open_handles(database) >= 1  # the writer's connection is held meanwhile
    asyncio.run(store.aclose())
    assert _open_handles(database) == 0


def test_closing_the_postgres_store_ends_every_backend_it_opened(postgres_url: str) -> None:
    upgrade(postgres_url)
    store = open_sql_store(postgres_url, writers=2)

    async def scenario() -> None:
        await asyncio.gather(*(store.write(noting(f"u-{n}"), urgent=n == 0) for n in range(8)))
        await store.write(noting("last"))

    before = _backends(postgres_url)
    asyncio.run(scenario())
    assert _backends(postgres_url) > before  # the writers hold theirs between units
    asyncio.run(store.aclose())
    assert _backends_once_ended(postgres_url, before) == before


def _backends_once_ended(url: str, expected: int, seconds: float = 5.0) -> int:
    """The backends of `url` once no more than `expected` are left, or `seconds` have
    passed: a server ends a backend a moment after its client closed the connection."""
    deadline = time.monotonic() + seconds
    while (count := _backends(url)) > expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def _open_handles(database: Path) -> int:
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed since it was listed
        found += target == str(database)
    return found


def _backends(url: str) -> int:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        ).fetchone()
    assert row is not None
    return int(row[0])
