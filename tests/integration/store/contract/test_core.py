"""One contract, two stores: the memory fake must behave as the SQL store does.

Every test here runs on MemoryStore and on the real SqlStore over SQLite (see conftest.py),
through the `Store` port, so the fake the service unit tests rely on cannot drift from the
real one. test_admin.py goes on with what the console, alerts, health and keys use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace

import pytest

from gateway.domain.audit import AuditEvent
from gateway.domain.messages import HandoffState, Lane, Receipt
from gateway.service.audit import verify_chain
from gateway.service.ports.queries import DeadLetterFilter
from gateway.service.ports.store import Store, UnitOfWork, Watch
from tests.fakes import DuplicateKey
from tests.integration.store.contract.builders import TOKENS, add, claim, handoff, work_order

# --- orders -----------------------------------------------------------------------------


async def test_an_added_order_is_found_by_id_and_by_origin_and_flow_id(store: Store) -> None:
    order = work_order()
    await store.write(lambda uow: uow.orders.add(order, 100.0))
    by_id = await store.read(lambda uow: uow.orders.get(order.id))
    by_flow = await store.read(lambda uow: uow.orders.find("hotline", "GZ-1"))
    assert by_id == by_flow
    assert by_id is not None
    assert (by_id.order, by_id.last_update_at, by_id.created_at) == (order, 0.0, 100.0)
    assert await store.read(lambda uow: uow.orders.find("police-110", "GZ-1")) is None
    assert await store.read(lambda uow: uow.orders.get("wo_none")) is None


async def test_a_replaced_order_keeps_its_creation_time(store: Store) -> None:
    order = work_order()
    await store.write(lambda uow: uow.orders.add(order, 100.0))
    changed = order.model_copy(update={"revision": 2, "content": "补充：每晚十一点后施工。"})
    await store.write(lambda uow: uow.orders.replace(changed))
    stored = await store.read(lambda uow: uow.orders.find("hotline", "GZ-1"))
    assert stored is not None
    assert (stored.order, stored.created_at) == (changed, 100.0)


async def test_a_second_order_with_the_same_flow_id_is_refused_and_nothing_is_kept(
    store: Store,
) -> None:
    await store.write(lambda uow: uow.orders.add(work_order(), 100.0))

    def two_orders(uow: UnitOfWork) -> None:
        uow.orders.add(work_order("GZ-2"), 101.0)
        uow.orders.add(work_order("GZ-1", id="wo_other"), 101.0)

    with pytest.raises((DuplicateKey, sqlite3.IntegrityError)):
        await store.write(two_orders)
    assert await store.read(lambda uow: uow.orders.find("hotline", "GZ-2")) is None


# --- handoffs ---------------------------------------------------------------------------


async def test_only_the_oldest_open_handoff_of_an_order_and_agency_is_claimed(
    store: Store,
) -> None:
    await add(store, handoff(1), handoff(2), handoff(3, order="wo_2"), handoff(4, agency="city"))
    assert await claim(store) == ["msg_1", "msg_3", "msg_4"]
    await store.write(
        lambda uow: uow.handoffs.delivered("msg_1", TOKENS["msg_1"], 11.0, Receipt(200, "d", "R1"))
    )
    assert await claim(store, now=12.0) == ["msg_2"]


async def test_a_claim_returns_the_handoffs_with_the_attempt_counted(store: Store) -> None:
    await add(store, handoff(1))
    claimed = await store.write(
        lambda uow: uow.handoffs.claim(10.0, {"tax": 1}, Lane.normal, 70.0, "node-a")
    )
    (token,) = [one.claim for one in claimed]
    assert token and claimed == [replace(handoff(1), attempts=1, claim=token)]
    views = await store.read(lambda uow: uow.handoff_queries.for_order("wo_1"))
    leased = replace(handoff(1), attempts=1, state=HandoffState.in_flight)
    assert views[0].handoff == leased  # a view does not show the claim token


async def test_a_dead_letter_does_not_block_the_handoffs_behind_it(store: Store) -> None:
    await add(store, handoff(1), handoff(2))
    await claim(store)
    await store.write(lambda uow: uow.handoffs.dead("msg_1", TOKENS["msg_1"], "HTTP 400", 400))
    assert await claim(store, now=12.0) == ["msg_2"]


async def test_a_handoff_waiting_for_its_retry_holds_back_its_successors(store: Store) -> None:
    await add(store, handoff(1), handoff(2))
    await claim(store)
    await store.write(
        lambda uow: uow.handoffs.reschedule("msg_1", TOKENS["msg_1"], 100.0, "HTTP 503", 503)
    )
    assert await claim(store, now=50.0) == []
    assert await claim(store, now=100.0) == ["msg_1"]


async def test_a_lease_holds_until_it_runs_out_then_the_handoff_is_claimed_again(
    store: Store,
) -> None:
    await add(store, handoff(1))
    assert await claim(store, now=10.0, lease=30.0) == ["msg_1"]
    assert await claim(store, now=20.0) == []
    assert await claim(store, now=41.0) == ["msg_1"]
    views = await store.read(lambda uow: uow.handoff_queries.for_order("wo_1"))
    assert views[0].handoff.attempts == 2


async def test_expired_leases_come_first_and_quotas_count_them(store: Store) -> None:
    await add(store, handoff(1, order="wo_1", at=5.0), handoff(2, order="wo_2", at=5.0))
    assert await claim(store, now=10.0, quotas={"tax": 2}, lease=5.0) == ["msg_1", "msg_2"]
    await add(store, handoff(3, order="wo_3", at=1.0), handoff(4, order="wo_4", at=2.0))
    assert await claim(store, now=20.0, quotas={"tax": 3}) == ["msg_1", "msg_2", "msg_3"]


async def test_lanes_and_agencies_without_a_quota_are_claimed_apart(store: Store) -> None:
    await add(store, handoff(1), handoff(2, order="wo_2", lane=Lane.emergency))
    await add(store, handoff(3, order="wo_3", agency="city"))
    emergency = await store.write(
        lambda uow: uow.handoffs.claim(10.0, {"tax": 5}, Lane.emergency, 70.0, "node-a")
    )
    assert [one.id for one in emergency] == ["msg_2"]
    assert await claim(store, quotas={"city": 5, "tax": 0}) == ["msg_3"]


async def test_a_claim_passes_over_a_disabled_or_paused_agency_until_enabled(
    store: Store,
) -> None:
    await add(store, handoff(1), handoff(2, order="wo_2", agency="city"))
    await add(store, handoff(3, order="wo_3", agency="water"))
    await store.write(lambda uow: uow.agencies.disable("tax", "HTTP 410", 1.0))
    await store.write(lambda uow: uow.agencies.pause("city", "ops", "maintenance", 2.0))
    await store.write(lambda uow: uow.agencies.enable("water", "ops", 3.0))  # a row, not held
    quotas = {"tax": 5, "city": 5, "water": 5}
    assert await claim(store, quotas=quotas) == ["msg_3"]
    await store.write(lambda uow: uow.agencies.enable("city", "ops", 4.0))
    assert await claim(store, now=11.0, quotas=quotas) == ["msg_2"]


async def test_a_delivery_is_kept_with_its_receipt(store: Store) -> None:
    await add(store, handoff(1))
    await claim(store)
    await store.write(
        lambda uow: uow.handoffs.delivered("msg_1", TOKENS["msg_1"], 12.5, Receipt(201, "d", "R9"))
    )
    view = (await store.read(lambda uow: uow.handoff_queries.for_order("wo_1")))[0]
    assert view.handoff.state == HandoffState.delivered
    assert (view.delivered_at, view.agency_ref, view.last_status) == (12.5, "R9", 201)
    assert await store.read(lambda uow: uow.handoff_queries.count_by_state()) == {"delivered": 1}


async def test_dead_letters_are_listed_and_revived(store: Store) -> None:
    await add(store, handoff(1), handoff(2, order="wo_2", agency="city"))
    await claim(store)
    await store.write(lambda uow: uow.handoffs.dead("msg_1", TOKENS["msg_1"], "HTTP 400", 400))
    await store.write(lambda uow: uow.handoffs.dead("msg_2", TOKENS["msg_2"], "HTTP 404", 404))
    only_tax = DeadLetterFilter(agency="tax")
    listed = await store.read(lambda uow: uow.handoff_queries.dead_letters(only_tax, 0, 10))
    assert [(d.id, d.attempts, d.last_error, d.last_status) for d in listed] == [
        ("msg_1", 1, "HTTP 400", 400)
    ]
    assert await store.read(lambda uow: uow.handoff_queries.count_dead(DeadLetterFilter())) == 2
    assert await store.write(lambda uow: uow.handoffs.revive(["msg_1", "msg_x"], 50.0)) == 1
    assert await claim(store, now=50.0) == ["msg_1"]


# --- inbound, watches, agencies ---------------------------------------------------------


async def test_a_message_id_is_remembered_once_per_party(store: Store) -> None:
    def remember(party: str, message_id: str) -> Callable[[UnitOfWork], bool]:
        return lambda uow: uow.inbound.remember(party, message_id, 1.0)

    assert await store.write(remember("tax", "m1")) is True
    assert await store.write(remember("tax", "m1")) is False
    assert await store.write(remember("city", "m1")) is True


async def test_watches_fire_once_when_due_soonest_first_and_settle(store: Store) -> None:
    yellow = Watch("wo_1", "resolve", "yellow", 100.0)
    red = Watch("wo_1", "resolve", "red", 200.0)
    ack = Watch("wo_1", "acknowledge", "red", 50.0)
    await store.write(lambda uow: uow.watches.arm(yellow, red, ack))
    assert await store.write(lambda uow: uow.watches.fire_due(150.0, 10)) == [ack, yellow]
    assert await store.write(lambda uow: uow.watches.fire_due(150.0, 10)) == []
    assert await store.write(lambda uow: uow.watches.settle("wo_1", ["resolve"])) == 1
    states = await store.read(lambda uow: uow.watches.for_order("wo_1"))
    assert states == [(ack, "fired"), (yellow, "fired"), (red, "settled")]
    await store.write(lambda uow: uow.watches.arm(replace(red, due_at=300.0)))
    assert await store.write(lambda uow: uow.watches.fire_due(400.0, 10)) == [
        replace(red, due_at=300.0)
    ]


async def test_a_paused_or_disabled_agency_is_held_until_enabled(store: Store) -> None:
    await store.write(lambda uow: uow.agencies.disable("tax", "HTTP 410", 1.0))
    await store.write(lambda uow: uow.agencies.pause("city", "ops", "maintenance", 2.0))
    assert await store.read(lambda uow: uow.agencies.held()) == {"tax", "city"}
    assert await store.read(lambda uow: uow.agencies.disabled()) == {"tax"}
    await store.write(lambda uow: uow.agencies.enable("tax", "ops", 3.0))
    assert await store.read(lambda uow: uow.agencies.held()) == {"city"}


# --- audit ------------------------------------------------------------------------------


async def test_audit_entries_form_a_chain_that_verifies(store: Store) -> None:
    def two_entries(uow: UnitOfWork) -> None:
        uow.audit.append(AuditEvent("received", order_id="wo_1", party="hotline"))
        uow.audit.append(AuditEvent("routed", order_id="wo_1", detail={"agencies": ["tax"]}))

    await store.write(two_entries)
    await store.write(lambda uow: uow.audit.append(AuditEvent("refused", party="tax")))
    records = list(store.audit_records())
    assert [(r.seq, r.event) for r in records] == [(1, "received"), (2, "routed"), (3, "refused")]
    assert store.audit_head() == (3, records[-1].entry_hash)
    assert verify_chain(records, store.audit_head()).ok
    by_order = await store.read(lambda uow: uow.audit.for_order("wo_1"))
    assert [r.event for r in by_order] == ["received", "routed"]


async def test_audit_details_hold_no_phone_number_in_clear(store: Store) -> None:
    entry = AuditEvent("refused", detail={"message": "caller 13900001111 asked again"})
    await store.write(lambda uow: uow.audit.append(entry))
    (record,) = store.audit_records()
    assert "13900001111" not in record.detail


async def test_a_unit_of_work_that_raises_leaves_no_audit_entry_behind(store: Store) -> None:
    def fails_after_writing(uow: UnitOfWork) -> None:
        uow.audit.append(AuditEvent("received", order_id="wo_1"))
        uow.inbound.remember("tax", "m1", 1.0)
        raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError, match="the step failed"):
        await store.write(fails_after_writing)
    await store.write(lambda uow: uow.audit.append(AuditEvent("refused", party="tax")))
    records = list(store.audit_records())
    assert [(r.seq, r.event) for r in records] == [(1, "refused")]
    assert verify_chain(records, store.audit_head()).ok
    assert await store.write(lambda uow: uow.inbound.remember("tax", "m1", 2.0)) is True
