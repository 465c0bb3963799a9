"""The claim fence on real SQLite and PostgreSQL: an outcome is written only by the
attempt whose claim still holds the handoff, in the statement that writes it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from gateway.domain.messages import Handoff, Lane, Receipt
from gateway.service.ports.store import Delivered
from gateway.store.repositories import SqlHandoffs
from gateway.store.schema import handoffs
from gateway.store.sql import SqlStore
from tests.integration.store.leases import claim_of
from tests.integration.store.test_outbox import handoff, store_with

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

OUTCOME_COLUMNS = (
    "state",
    "attempts",
    "next_attempt_at",
    "last_error",
    "last_status",
    "agency_ref",
)


def lease(store: SqlStore, now: float, lease: float = 30.0) -> Handoff:
    (claimed,) = store.run_sync(
        lambda uow: uow.handoffs.claim(now, {"tax": 1}, Lane.normal, now + lease, "node-a")
    )
    return claimed


def row(store: SqlStore, handoff_id: str = "msg_1") -> dict[str, Any]:
    query = select(*(handoffs.c[name] for name in OUTCOME_COLUMNS)).where(
        handoffs.c.id == handoff_id
    )
    with store.engine.connect() as conn:
        return dict(conn.execute(query).one()._mapping)


def delivered(store: SqlStore, held: Handoff, ref: str) -> bool:
    receipt = Receipt(200, "0" * 64, agency_ref=ref)
    return bool(
        store.run_sync(lambda uow: uow.handoffs.delivered(held.id, held.claim, 50.0, receipt))
    )


def test_each_claim_hands_its_attempt_a_token_of_its_own(database_url: str) -> None:
    store = store_with(database_url, handoff(1))
    first = lease(store, now=10.0)
    second = lease(store, now=41.0)  # the first lease ran out
    assert first.claim and second.claim and first.claim != second.claim
    assert claim_of(store, "msg_1") == second.claim


def test_the_attempt_that_holds_the_claim_records_its_receipt(database_url: str) -> None:
    store = store_with(database_url, handoff(1))
    held = lease(store, now=10.0)
    assert delivered(store, held, "CASE-1")
    assert row(store)["state"] == "delivered" and row(store)["agency_ref"] == "CASE-1"


def test_a_late_receipt_after_the_handoff_was_claimed_again_changes_nothing(
    database_url: str,
) -> None:
    store = store_with(database_url, handoff(1))
    stale = lease(store, now=10.0)
    current = lease(store, now=41.0)
    assert delivered(store, current, "CASE-2")
    before = row(store)
    assert not delivered(store, stale, "CASE-1")
    assert row(store) == before


def test_a_late_failure_neither_reschedules_nor_dead_letters_a_delivered_handoff(
    database_url: str,
) -> None:
    store = store_with(database_url, handoff(1))
    stale = lease(store, now=10.0)
    current = lease(store, now=41.0)
    assert delivered(store, current, "CASE-2")
    before = row(store)
    retried = store.run_sync(
        lambda uow: uow.handoffs.reschedule(stale.id, stale.claim, 60.0, "reset", None)
    )
    dead = store.run_sync(lambda uow: uow.handoffs.dead(stale.id, stale.claim, "HTTP 400", 400))
    assert (retried, dead) == (False, False)
    assert row(store) == before


def test_a_late_failure_does_not_touch_the_attempt_still_under_way(database_url: str) -> None:
    store = store_with(database_url, handoff(1))
    stale = lease(store, now=10.0)
    lease(store, now=41.0)
    before = row(store)
    assert not store.run_sync(
        lambda uow: uow.handoffs.reschedule(stale.id, stale.claim, 60.0, "reset", None)
    )
    assert row(store) == before and before["state"] == "in_flight"


def test_an_outcome_is_recorded_once_per_claim(database_url: str) -> None:
    store = store_with(database_url, handoff(1))
    held = lease(store, now=10.0)
    assert delivered(store, held, "CASE-1")
    assert not delivered(store, held, "CASE-9")
    assert row(store)["agency_ref"] == "CASE-1"


def test_a_handoff_copy_that_was_never_claimed_records_nothing(database_url: str) -> None:
    store = store_with(database_url, handoff(1))
    lease(store, now=10.0)
    assert not delivered(store, handoff(1), "CASE-1")  # claim None
    assert row(store)["state"] == "in_flight"


def test_a_revived_dead_letter_is_not_held_by_its_old_claim(database_url: str) -> None:
    store = store_with(database_url, handoff(1))
    held = lease(store, now=10.0)
    assert store.run_sync(lambda uow: uow.handoffs.dead(held.id, held.claim, "HTTP 400", 400))
    assert store.run_sync(lambda uow: uow.handoffs.revive([held.id], 20.0)) == 1
    again = lease(store, now=20.0)
    assert again.attempts == held.attempts == 1  # revive resets the count: tokens differ
    assert not delivered(store, held, "CASE-1")
    assert delivered(store, again, "CASE-2")


def test_on_postgresql_a_late_outcome_waits_for_a_concurrent_claim_then_matches_nothing(
    postgres_url: str,
) -> None:
    store = store_with(postgres_url, handoff(1))
    stale = lease(store, now=10.0)
    result: list[bool] = []
    with store.engine.connect() as claimer:
        claimer.begin()  # a second process claims the expired lease and has not committed
        SqlHandoffs(claimer, store.seal).claim(41.0, {"tax": 1}, Lane.normal, 71.0, "node-b")
        late = threading.Thread(target=lambda: result.append(delivered(store, stale, "CASE-1")))
        late.start()
        late.join(0.5)
        assert late.is_alive()  # the recording UPDATE waits on the row the claim locked
        claimer.commit()
    late.join(10)
    assert result == [False]
    assert row(store)["state"] == "in_flight" and row(store)["attempts"] == 2


def test_a_batch_of_receipts_records_those_whose_claim_holds_in_one_go(database_url: str) -> None:
    """One call for a batch's receipts (one statement on PostgreSQL): a stale attempt
    beside the one that holds, and a copy never claimed, record nothing."""
    store = store_with(database_url, handoff(1), handoff(2, order="wo_2"))
    stale = lease(store, now=10.0)  # msg_1, whose lease runs out
    claimed = store.run_sync(
        lambda uow: uow.handoffs.claim(41.0, {"tax": 2}, Lane.normal, 71.0, "node-b")
    )
    current = {one.id: one for one in claimed}
    assert set(current) == {"msg_1", "msg_2"}

    def receipt(held: Handoff, ref: str) -> Delivered:
        return Delivered(held.id, held.claim, 50.0, Receipt(201, "0" * 64, agency_ref=ref))

    batch = [
        receipt(stale, "STALE"),
        receipt(current["msg_1"], "CASE-1"),
        receipt(current["msg_2"], None),
        Delivered("msg_2", None, 50.0, Receipt(200, "0" * 64)),
    ]
    recorded = store.run_sync(lambda uow: uow.handoffs.delivered_all(batch))
    assert recorded == {("msg_1", current["msg_1"].claim), ("msg_2", current["msg_2"].claim)}
    assert row(store, "msg_1")["agency_ref"] == "CASE-1"
    assert row(store, "msg_2") | {"attempts": 0} == {
        "state": "delivered",
        "attempts": 0,
        "next_attempt_at": 0.0,
        "last_error": None,
        "last_status": 201,
        "agency_ref": None,
    }
    assert store.run_sync(lambda uow: uow.handoffs.delivered_all([])) == set()
