"""Round trips of one unit of work on PostgreSQL, counted in libpq's protocol trace: the
BEGIN goes with the first read, the writes with the audit head's lock, the entries and
the head with the COMMIT, and no ping goes before any of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select

from bench.sql_tally import SqlTally
from gateway.bootstrap import open_sql_store
from gateway.domain.audit import AuditEvent
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.plain import PlainRead, PlainWrite
from gateway.store.schema import poll_cursors
from gateway.store.sql import SqlStore

_READ = PlainRead(
    select(poll_cursors.c.cursor).where(poll_cursors.c.party == bindparam("party")),
    for_update=True,
)
_ADD = PlainWrite(insert(poll_cursors))


def _read_write_audit(party: str) -> object:
    def work(uow: UnitOfWork) -> str:
        conn = uow.cursors.conn  # type: ignore[attr-defined]
        assert _READ.first(conn, {"party": party}) is None  # the order a unit reads first
        _ADD.send(conn, {"party": party, "cursor": "1", "updated_at": 1.0})
        uow.audit.append(AuditEvent("noted", order_id=party, party="system"))
        return party

    return work


@pytest.fixture
def traced(postgres_url: str, tmp_path: Path) -> Iterator[tuple[SqlStore, SqlTally]]:
    upgrade(postgres_url)
    tally = SqlTally(tmp_path)
    tally.install()
    store = open_sql_store(postgres_url, writers=1)
    try:
        yield store, tally
    finally:
        tally.remove()


def _round_trips(store: SqlStore, tally: SqlTally, phase: str) -> int:
    asyncio.run(store.aclose())  # closing its connections (the writer's held one too)
    # writes out their traces
    trips = tally.tally(phase).round_trips
    assert trips is not None
    return trips


def test_an_audited_unit_of_work_takes_three_round_trips(
    traced: tuple[SqlStore, SqlTally],
) -> None:
    store, tally = traced
    store.run_sync(_read_write_audit("warm-up"))  # connects: not counted
    tally.phase("unit")
    assert store.run_sync(_read_write_audit("counted")) == "counted"
    tally.phase("after")
    assert _round_trips(store, tally, "unit") == 3


def test_a_unit_alone_in_its_group_takes_three_round_trips(
    traced: tuple[SqlStore, SqlTally],
) -> None:
    store, tally = traced
    asyncio.run(store.write(_read_write_audit("warm-up")))
    tally.phase("unit")
    assert asyncio.run(store.write(_read_write_audit("counted"))) == "counted"
    tally.phase("after")
    assert _round_trips(store, tally, "unit") == 3
