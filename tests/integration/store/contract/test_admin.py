"""The contract, continued: what the console, alerts, health, keys and retention read and
write. Same two stores (see conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.domain.audit import AuditEvent
from gateway.domain.messages import Receipt
from gateway.service.operations.retention import PURGED
from gateway.service.ports.crypto import KeyRecord
from gateway.service.ports.queries import FailureQuery
from gateway.service.ports.store import AgencyState, Standing, Store, UnitOfWork
from tests.integration.store.contract.builders import TOKENS, add, claim, handoff, work_order


async def test_failures_are_listed_newest_first_and_filtered(store: Store) -> None:
    await store.write(lambda uow: uow.orders.add(work_order("1", id="wo_1"), 1.0))
    await add(store, handoff(1), handoff(2, order="wo_2"), handoff(3, order="wo_3", agency="city"))
    await claim(store)

    def fail_them(uow: UnitOfWork) -> None:
        uow.handoffs.dead("msg_1", TOKENS["msg_1"], "HTTP 400 Bad Request", 400)
        uow.handoffs.reschedule("msg_2", TOKENS["msg_2"], 99.0, "HTTP 503", 503)
        uow.handoffs.delivered("msg_3", TOKENS["msg_3"], 11.0, Receipt(200, "d"))

    await store.write(fail_them)
    every = await store.read(lambda uow: uow.handoff_queries.failures(FailureQuery(), None, 10))
    assert [(f.id, f.state, f.title) for f in every] == [
        ("msg_2", "pending", None),
        ("msg_1", "dead", "夜间施工噪音"),
    ]
    bad = FailureQuery(state="dead", error="bad request")
    assert await store.read(lambda uow: uow.handoff_queries.count_failures(bad)) == 1
    assert await store.read(lambda uow: uow.handoff_queries.open_counts()) == {
        ("dead", "tax", "normal"): 1,
        ("pending", "tax", "normal"): 1,
    }
    assert await store.read(lambda uow: uow.handoff_queries.newest_seq()) == 3


async def test_standings_count_failures_in_a_row_and_announce_once(store: Store) -> None:
    first = await store.write(lambda uow: uow.standings.failed("tax", 2, 5.0, 6.0))
    assert first == Standing("tax", failures=2, failing_since=5.0)
    again = await store.write(lambda uow: uow.standings.failed("tax", 1, 9.0, 9.0))
    assert (again.failures, again.failing_since) == (3, 5.0)
    announce = ("failing", ("ok",), 10.0)
    assert await store.write(lambda uow: uow.standings.announce("tax", *announce)) is True
    assert await store.write(lambda uow: uow.standings.announce("tax", *announce)) is False
    await store.write(lambda uow: uow.standings.delivered("tax", 11.0))
    unsettled = await store.read(lambda uow: uow.standings.unsettled())
    assert unsettled == {"tax": Standing("tax", announced="failing")}


async def test_dead_letters_are_reported_at_most_once_an_interval(store: Store) -> None:
    def dead(n: int, now: float) -> Callable[[UnitOfWork], int]:
        return lambda uow: uow.standings.dead_lettered("tax", n, now, 60.0)

    assert await store.write(dead(2, 100.0)) == 2
    assert await store.write(dead(3, 130.0)) == 0  # within the interval: kept for later
    assert await store.write(dead(1, 161.0)) == 4


async def test_agency_states_say_who_changed_them(store: Store) -> None:
    await store.write(lambda uow: uow.agencies.disable("tax", "HTTP 410", 1.0))
    await store.write(lambda uow: uow.agencies.pause("tax", "ops", "maintenance", 2.0))
    states = await store.read(lambda uow: uow.agencies.states())
    assert states == {
        "tax": AgencyState("tax", True, True, "maintenance", "ops", 2.0),
    }


async def test_board_cursors_are_saved_and_moved(store: Store) -> None:
    assert await store.read(lambda uow: uow.cursors.get("board")) is None
    await store.write(lambda uow: uow.cursors.save("board", "c-1", 1.0))
    await store.write(lambda uow: uow.cursors.save("board", "c-2", 2.0))
    assert await store.read(lambda uow: uow.cursors.get("board")) == "c-2"


async def test_keys_rotate_through_retiring_to_retired(store: Store) -> None:
    old = KeyRecord("tax", "k1", "v1a", "whpk_old", "active", 1.0)
    new = KeyRecord("tax", "k2", "v1a", "whpk_new", "active", 2.0)
    await store.write(lambda uow: uow.keys.add(old))
    await store.write(lambda uow: uow.keys.add(new))
    assert await store.write(lambda uow: uow.keys.retire_others("tax", "k2", 50.0)) == ["k1"]
    assert [k.key_id for k in await store.read(lambda uow: uow.keys.of("tax"))] == ["k2", "k1"]
    assert await store.write(lambda uow: uow.keys.retire_due(49.0)) == []
    due = await store.write(lambda uow: uow.keys.retire_due(50.0))
    assert [(k.key_id, k.state) for k in due] == [("k1", "retiring")]  # as read, before
    states = [(k.key_id, k.state) for k in await store.read(lambda uow: uow.keys.all())]
    assert states == [("k2", "active"), ("k1", "retired")]


async def test_retention_erases_settled_orders_once(store: Store) -> None:
    await store.write(lambda uow: uow.orders.add(work_order("1", id="wo_1"), 1.0))
    await store.write(lambda uow: uow.orders.add(work_order("2", id="wo_2"), 2.0))
    await add(store, handoff(1), handoff(2, order="wo_2"))
    await claim(store)
    await store.write(
        lambda uow: uow.handoffs.delivered("msg_1", TOKENS["msg_1"], 3.0, Receipt(200, "d"))
    )
    assert await store.read(lambda uow: uow.retention.due_for_purge(10.0, 5)) == ["wo_1"]
    assert await store.write(lambda uow: uow.retention.erase_order("wo_1")) == ["name", "phone"]
    assert await store.write(lambda uow: uow.retention.erase_bodies("wo_1")) == 1
    await store.write(lambda uow: uow.audit.append(AuditEvent(PURGED, order_id="wo_1")))
    assert await store.read(lambda uow: uow.retention.due_for_purge(10.0, 5)) == []
    stored = await store.read(lambda uow: uow.orders.get("wo_1"))
    assert stored is not None and stored.order.caller is not None
    assert (stored.order.caller.name, stored.order.caller.phone) == (None, None)
    views = await store.read(lambda uow: uow.handoff_queries.for_order("wo_1"))
    assert views[0].handoff.body == b""


async def test_activity_counts_deliveries_and_failures_since_a_moment(store: Store) -> None:
    since = time.time() - 60  # the SQL store stamps entries with the system clock
    await add(store, handoff(1, at=since), handoff(2, order="wo_2", at=since))
    await claim(store, now=since + 1)
    await store.write(
        lambda uow: uow.handoffs.delivered("msg_1", TOKENS["msg_1"], since + 3, Receipt(200, "d"))
    )

    def outcomes(uow: UnitOfWork) -> None:
        uow.audit.append(AuditEvent("delivered", handoff_id="msg_1", party="tax"))
        uow.audit.append(AuditEvent("acknowledged", handoff_id="msg_2", party="tax"))  # older
        uow.audit.append(AuditEvent("failed", party="tax", detail={"error": "HTTP 503"}))
        uow.audit.append(AuditEvent("dead_lettered", party="tax"))

    await store.write(outcomes)
    activity = await store.read(lambda uow: uow.activity.since(since, 10))
    tax = activity["tax"]
    assert (tax.delivered, tax.dead_lettered, tax.latencies) == (2, 1, (3.0,))
    assert tax.last_error == "HTTP 503" and tax.last_error_at is not None
    assert await store.read(lambda uow: uow.activity.since(time.time() + 60, 10)) == {}


async def test_retention_drops_the_kept_bodies_of_messages_received_before_a_moment(
    store: Store,
) -> None:
    await store.write(lambda uow: uow.inbound.remember("tax", "m1", 1.0, b'{"old":1}'))
    await store.write(lambda uow: uow.inbound.remember("tax", "m2", 20.0, b'{"new":1}'))
    await store.write(lambda uow: uow.inbound.remember("tax", "m3", 1.0))  # no body kept
    assert await store.write(lambda uow: uow.retention.erase_received_bodies(10.0)) == 1
    assert await store.write(lambda uow: uow.retention.erase_received_bodies(10.0)) == 0
    assert await store.write(lambda uow: uow.retention.erase_received_bodies(30.0)) == 1
    assert not await store.write(lambda uow: uow.inbound.remember("tax", "m1", 40.0))  # still known
