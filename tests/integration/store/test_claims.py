"""One claim, one SELECT: quotas, expired leases first, FIFO, SKIP LOCKED across claimers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from gateway.domain.messages import Handoff, Lane
from gateway.service.ports.store import UnitOfWork
from gateway.store import claims
from gateway.store.repositories import SqlHandoffs
from gateway.store.sql import SqlStore
from tests.integration.store.leases import claim_of
from tests.integration.store.test_outbox import handoff, store_with

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

AGENCIES = [f"agency-{n:02d}" for n in range(12)]


def add(store: SqlStore, *handoffs: Handoff) -> None:
    def write(uow: UnitOfWork) -> None:
        for one in handoffs:
            uow.handoffs.add(one)

    store.run_sync(write)


def claim(store: SqlStore, now: float, quotas: dict[str, int], lease: float = 5.0) -> list[str]:
    claimed = store.run_sync(
        lambda uow: uow.handoffs.claim(now, quotas, Lane.normal, now + lease, "node-a")
    )
    return [h.id for h in claimed]


def test_a_claim_over_twelve_agencies_is_one_select(sqlite_url: str) -> None:
    """One SELECT, then the lease (one executemany: SQLite traces each of its rows)."""
    due = [handoff(n, order=f"wo_{n}", agency=agency) for n, agency in enumerate(AGENCIES)]
    store = store_with(sqlite_url, *due)
    statements: list[str] = []

    def record(sql: str) -> None:
        statements.append(sql.lstrip().split(None, 1)[0].upper())

    def claim_all(uow: Any) -> list[Any]:
        driver = uow.handoffs.conn.connection.driver_connection
        driver.set_trace_callback(record)
        try:
            return list(
                uow.handoffs.claim(10.0, dict.fromkeys(AGENCIES, 3), Lane.normal, 70.0, "a")
            )
        finally:
            driver.set_trace_callback(None)

    assert len(store.run_sync(claim_all)) == 12
    assert statements == ["SELECT"] + ["UPDATE"] * 12
    leased = store.run_sync(lambda uow: uow.handoff_queries.count_by_state(), writes=False)
    assert leased == {"in_flight": 12}


def test_a_claims_limit_is_shared_out_in_turns_among_the_agencies_with_handoffs_due(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the first turn moves one agency on at each cut claim of the process: this claim's
    # first is the first agency, whatever claims other tests in this process made
    monkeypatch.setattr(claims, "_FIRST_IN_TURN", itertools.count())
    due = [handoff(n, order=f"wo_{n}", agency="tax") for n in range(1, 6)]
    due += [handoff(n, order=f"wo_{n}", agency="city") for n in range(6, 11)]
    store = store_with(database_url, *due)
    quotas = {"fire": 5, "tax": 5, "city": 5}  # fire has nothing due: its turns go to others

    def claim_seven(uow: UnitOfWork) -> list[Handoff]:
        return uow.handoffs.claim(10.0, quotas, Lane.normal, 70.0, "node-a", limit=7)

    claimed = [h.id for h in store.run_sync(claim_seven)]
    assert claimed == ["msg_1", "msg_2", "msg_3", "msg_4", "msg_6", "msg_7", "msg_8"]
    leased = store.run_sync(lambda uow: uow.handoff_queries.count_by_state(), writes=False)
    assert leased == {"in_flight": 7, "pending": 3}  # the rows read past the limit stay


def test_expired_leases_come_first_then_the_oldest_pending(database_url: str) -> None:
    store = store_with(database_url, handoff(1, order="wo_1", at=5.0), handoff(2, "wo_2", at=5.0))
    assert claim(store, now=10.0, quotas={"tax": 2}) == ["msg_1", "msg_2"]  # leased until 15
    add(store, *(handoff(n, order=f"wo_{n}", at=n - 2.0) for n in (3, 4)))
    assert claim(store, now=20.0, quotas={"tax": 3}) == ["msg_1", "msg_2", "msg_3"]


def test_each_agency_gets_at_most_its_quota_expired_leases_included(database_url: str) -> None:
    expired = [handoff(n, order=f"wo_{n}", agency="tax") for n in (1, 2)]
    expired += [handoff(3, order="wo_3", agency="city"), handoff(4, order="wo_4", agency="fire")]
    store = store_with(database_url, *expired)
    assert len(claim(store, now=10.0, quotas={"tax": 2, "city": 1, "fire": 1})) == 4
    later = ((5, "tax"), (6, "tax"), (7, "city"), (8, "fire"))
    add(store, *(handoff(n, order=f"wo_{n}", agency=agency) for n, agency in later))
    claimed = claim(store, now=20.0, quotas={"tax": 3, "city": 1, "fire": 0})
    assert claimed == ["msg_1", "msg_2", "msg_5", "msg_3"]


def test_only_the_oldest_open_handoff_per_order_and_agency_across_agencies(
    database_url: str,
) -> None:
    store = store_with(
        database_url,
        handoff(1, agency="tax"),
        handoff(2, agency="city"),
        handoff(3, agency="tax"),
        handoff(4, agency="city"),
    )
    quotas = {"tax": 5, "city": 5}
    assert claim(store, now=10.0, quotas=quotas) == ["msg_1", "msg_2"]
    # msg_1's lease runs out: it is claimed again, msg_3 still waits behind it
    token = claim_of(store, "msg_2")
    store.run_sync(lambda uow: uow.handoffs.reschedule("msg_2", token, 100.0, "HTTP 503", 503))
    assert claim(store, now=20.0, quotas=quotas) == ["msg_1"]


def test_two_open_claims_on_postgresql_skip_each_others_rows(postgres_url: str) -> None:
    due = [handoff(n, order=f"wo_{n}", agency=AGENCIES[n % 3]) for n in range(30)]
    store = store_with(postgres_url, *due)
    quotas = dict.fromkeys(AGENCIES[:3], 4)
    cipher = store.seal
    with store.engine.connect() as first, store.engine.connect() as second:
        first.begin()
        second.begin()  # both transactions stay open: the rows of the first are locked
        second.exec_driver_sql("SET LOCAL lock_timeout = '5s'")  # waiting on them fails
        mine = SqlHandoffs(first, cipher).claim(10.0, quotas, Lane.normal, 70.0, "node-a")
        theirs = SqlHandoffs(second, cipher).claim(10.0, quotas, Lane.normal, 70.0, "node-b")
        first.commit()
        second.commit()
    ids = [h.id for h in mine + theirs]
    assert len(mine) == len(theirs) == 12
    assert len(set(ids)) == 24


def test_a_claim_passes_over_held_agencies_on_both_databases(database_url: str) -> None:
    """The held check is inside the claim's SELECT (no read of agency_state before it)."""
    store = store_with(database_url, handoff(1, order="wo_1"), handoff(2, "wo_2", agency="city"))
    store.run_sync(lambda uow: uow.agencies.pause("tax", "ops", "maintenance", 1.0))
    assert claim(store, now=10.0, quotas={"tax": 5, "city": 5}) == ["msg_2"]
    store.run_sync(lambda uow: uow.agencies.enable("tax", "ops", 2.0))
    assert claim(store, now=11.0, quotas={"tax": 5, "city": 5}) == ["msg_1"]
