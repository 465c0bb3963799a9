"""The outbox on real SQLite and PostgreSQL: claims, leases, FIFO, SKIP LOCKED."""

from __future__ import annotations

import threading

import pytest

from gateway.bootstrap import open_sql_store
from gateway.domain.messages import Handoff, HandoffKind, HandoffState, Lane, Receipt
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore
from tests.integration.store.leases import claim_of

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL


def handoff(
    n: int, order: str = "wo_1", agency: str = "tax", lane: Lane = Lane.normal, at: float = 0.0
) -> Handoff:
    return Handoff(
        id=f"msg_{n}",
        order_id=order,
        agency=agency,
        kind=HandoffKind.transfer,
        lane=lane,
        body=b"{}",
        body_digest="0" * 64,
        next_attempt_at=at,
        created_at=at,
    )


def store_with(url: str, *handoffs: Handoff) -> SqlStore:
    upgrade(url)
    store = open_sql_store(url)
    store.run_sync(lambda uow: [uow.handoffs.add(h) for h in handoffs])
    return store


def claim(
    store: SqlStore,
    now: float = 10.0,
    limit: int = 10,
    lane: Lane = Lane.normal,
    lease: float = 60.0,
    skip: tuple[str, ...] = (),
) -> list[str]:
    quotas = {agency: limit for agency in ("tax", "city") if agency not in skip}
    claimed = store.run_sync(
        lambda uow: uow.handoffs.claim(now, quotas, lane, now + lease, "node-a")
    )
    return [h.id for h in claimed]


def test_only_the_oldest_open_handoff_of_an_order_and_agency_is_claimed(database_url: str) -> None:
    store = store_with(
        database_url, handoff(1), handoff(2), handoff(3, order="wo_2"), handoff(4, agency="city")
    )
    assert sorted(claim(store)) == ["msg_1", "msg_3", "msg_4"]
    token = claim_of(store, "msg_1")
    store.run_sync(lambda uow: uow.handoffs.delivered("msg_1", token, 11.0, Receipt(200, "x")))
    assert claim(store, now=12.0) == ["msg_2"]


def test_a_dead_letter_does_not_block_the_handoffs_behind_it(database_url: str) -> None:
    store = store_with(database_url, handoff(1), handoff(2))
    claim(store)
    token = claim_of(store, "msg_1")
    store.run_sync(lambda uow: uow.handoffs.dead("msg_1", token, "HTTP 400", 400))
    assert claim(store, now=12.0) == ["msg_2"]


def test_a_handoff_waiting_for_its_retry_holds_back_its_successors(database_url: str) -> None:
    store = store_with(database_url, handoff(1), handoff(2))
    claim(store)
    token = claim_of(store, "msg_1")
    store.run_sync(lambda uow: uow.handoffs.reschedule("msg_1", token, 100.0, "HTTP 503", 503))
    assert claim(store, now=50.0) == []
    assert claim(store, now=100.0) == ["msg_1"]


def test_a_leased_handoff_is_not_claimed_again_until_its_lease_runs_out(database_url: str) -> None:
    store = store_with(database_url, handoff(1))
    assert claim(store, now=10.0, lease=30.0) == ["msg_1"]
    assert claim(store, now=20.0) == []
    assert claim(store, now=41.0) == ["msg_1"]
    attempts = store.run_sync(lambda uow: uow.handoff_queries.for_order("wo_1"))[0].handoff.attempts
    assert attempts == 2


def test_lanes_are_claimed_separately(database_url: str) -> None:
    store = store_with(database_url, handoff(1), handoff(2, order="wo_2", lane=Lane.emergency))
    assert claim(store, lane=Lane.emergency) == ["msg_2"]
    assert claim(store, lane=Lane.normal) == ["msg_1"]


def test_agencies_without_a_quota_are_skipped(database_url: str) -> None:
    store = store_with(database_url, handoff(1), handoff(2, order="wo_2", agency="city"))
    assert claim(store, skip=("tax",)) == ["msg_2"]


def test_a_backlog_for_one_agency_does_not_starve_another(database_url: str) -> None:
    backlog = [handoff(n, order=f"wo_{n}", at=float(n)) for n in range(300)]
    store = store_with(database_url, *backlog, handoff(999, order="wo_x", agency="city", at=500))
    claimed = claim(store, now=1000.0, limit=5)
    assert claimed == ["msg_0", "msg_1", "msg_2", "msg_3", "msg_4", "msg_999"]


def test_concurrent_claimers_never_share_a_handoff(database_url: str) -> None:
    store = store_with(database_url, *(handoff(n, order=f"wo_{n}") for n in range(200)))
    results: list[list[str]] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        mine: list[str] = []
        for _ in range(20):
            mine += claim(store, limit=7)
        results.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [handoff_id for mine in results for handoff_id in mine]
    assert len(every) == len(set(every)) == 200
    states = store.run_sync(lambda uow: uow.handoff_queries.count_by_state())
    assert states == {HandoffState.in_flight.value: 200}
