"""Delivery outcomes over the memory store: a receipt, a transient and a permanent failure."""

from __future__ import annotations

import json

from gateway.domain.errors import PermanentDelivery, TransientDelivery
from gateway.domain.messages import HOTLINE, HandoffKind, HandoffState, Lane, Receipt
from gateway.domain.states import Status
from gateway.service.audit import verify_chain
from gateway.service.delivery.attempts import Attempt
from gateway.service.ports.queries import HandoffView
from tests.unit.service.world import CITY, World, submitted


async def ordered_and_dispatched(world: World) -> tuple[str, HandoffView]:
    """Take in an order, run the dispatcher once; the order id and its transfer."""
    order_id = (await world.accept(submitted())).order.id
    await world.dispatch()
    (transfer,) = await world.handoffs(order_id, HandoffKind.transfer)
    return order_id, transfer


def handoff_events(world: World, handoff_id: str) -> list[str]:
    return [r.event for r in world.store.audit_records() if r.handoff_id == handoff_id]


async def test_a_receipt_marks_the_handoff_delivered_and_the_order_dispatched() -> None:
    world = World()
    order_id, transfer = await ordered_and_dispatched(world)
    assert transfer.handoff.state == HandoffState.delivered
    assert (transfer.agency_ref, transfer.last_status) == ("MEM-000001", 200)
    assert transfer.delivered_at == world.clock.now
    stored = await world.order(order_id)
    assert stored.order.status == Status.dispatched
    assert stored.order.partner_ids[CITY] == "MEM-000001"
    sent = world.connectors[CITY].delivered
    assert [delivery.handoff_id for delivery in sent] == [transfer.handoff.id]
    assert handoff_events(world, transfer.handoff.id) == [
        "delivered",  # signed, sent and acknowledged: one entry
        "status_applied",  # received → dispatched, on the lead agency's receipt
    ]
    assert verify_chain(world.store.audit_records(), world.store.audit_head()).ok


async def test_a_delivery_is_one_entry_naming_its_request_signature_and_answer() -> None:
    world = World()
    _, transfer = await ordered_and_dispatched(world)
    (sent,) = world.connectors[CITY].delivered
    entry = next(r for r in world.store.audit_records() if r.event == "delivered")
    assert entry.handoff_id == transfer.handoff.id and entry.party == CITY
    assert entry.payload_digest == transfer.handoff.body_digest
    assert entry.signature == sent.headers["webhook-signature"] and entry.signature
    detail = json.loads(entry.detail)
    assert (detail["attempt"], detail["status"], detail["agency_ref"]) == (1, 200, "MEM-000001")
    assert detail["endpoint"] and "ms" in detail and len(detail["response_digest"]) == 64


async def test_the_dispatch_entry_names_the_callback_it_queued() -> None:
    world = World()
    order_id, transfer = await ordered_and_dispatched(world)
    (callback,) = await world.handoffs(order_id, HandoffKind.status)
    applied = next(r for r in world.store.audit_records() if r.event == "status_applied")
    assert applied.handoff_id == transfer.handoff.id  # the receipt that moved the order
    assert json.loads(applied.detail)["callback"] == {
        "handoff_id": callback.handoff.id,
        "party": HOTLINE,
        "kind": "status",
        "lane": callback.handoff.lane.value,
        "bytes": len(callback.handoff.body),
        "payload_digest": callback.handoff.body_digest,
    }
    assert handoff_events(world, callback.handoff.id) == ["delivered"]  # no `mapped` of its own


async def test_the_hotline_hears_of_the_dispatch() -> None:
    world = World()
    order_id, _ = await ordered_and_dispatched(world)
    (callback,) = await world.handoffs(order_id, HandoffKind.status)
    assert (callback.handoff.agency, callback.handoff.state) == (HOTLINE, HandoffState.delivered)
    assert b'"dispatched"' in world.connectors[HOTLINE].delivered[0].body


async def test_a_transient_failure_is_retried_later_with_the_same_id() -> None:
    world = World()
    world.connectors[CITY].fail_with = TransientDelivery("HTTP 503", status_code=503)
    order_id, transfer = await ordered_and_dispatched(world)
    failed = transfer.handoff
    assert (failed.state, failed.attempts, failed.last_error) == (
        HandoffState.pending,
        1,
        "HTTP 503",
    )
    assert 3.99 < failed.next_attempt_at - world.clock.now < 6.01  # 5 s, jittered by 20 %
    assert (await world.order(order_id)).order.status == Status.received
    assert handoff_events(world, failed.id)[-2:] == ["failed", "retry_scheduled"]

    world.connectors[CITY].fail_with = None
    world.clock.advance(7.0)
    await world.dispatch()
    (retried,) = await world.handoffs(order_id, HandoffKind.transfer)
    assert (retried.handoff.id, retried.handoff.state) == (failed.id, HandoffState.delivered)
    assert retried.handoff.attempts == 2
    assert (await world.order(order_id)).order.status == Status.dispatched


async def test_a_permanent_failure_dead_letters_the_handoff_at_once() -> None:
    world = World()
    world.connectors[CITY].fail_with = PermanentDelivery("HTTP 400", status_code=400)
    order_id, transfer = await ordered_and_dispatched(world)
    assert transfer.handoff.state == HandoffState.dead
    assert (transfer.handoff.last_error, transfer.last_status) == ("HTTP 400", 400)
    assert handoff_events(world, transfer.handoff.id)[-2:] == ["failed", "dead_lettered"]
    assert (await world.order(order_id)).order.status == Status.received
    assert await world.handoffs(order_id, HandoffKind.status) == []


async def test_an_endpoint_gone_disables_its_agency() -> None:
    world = World()
    world.connectors[CITY].fail_with = PermanentDelivery("HTTP 410", status_code=410, disable=True)
    _, transfer = await ordered_and_dispatched(world)
    assert "agency_disabled" in handoff_events(world, transfer.handoff.id)
    assert await world.store.read(lambda uow: uow.agencies.held()) == {CITY}
    world.connectors[CITY].fail_with = None
    second = (await world.accept(submitted("GZ-2", route_to=[CITY, "tax-12366"]))).order.id
    await world.dispatch()
    held, other = await world.handoffs(second, HandoffKind.transfer)
    assert (held.handoff.agency, held.handoff.state) == (CITY, HandoffState.pending)
    assert held.handoff.attempts == 0
    assert (other.handoff.agency, other.handoff.state) == ("tax-12366", HandoffState.delivered)


async def test_the_dispatch_callback_names_the_agencys_reference() -> None:
    world = World()
    order_id, _ = await ordered_and_dispatched(world)
    (callback,) = await world.handoffs(order_id, HandoffKind.status)
    sent = json.loads(world.connectors[HOTLINE].delivered[0].body)
    assert (sent["status"], sent["previous"]) == ("dispatched", "received")
    assert (sent["agency"], sent["agency_ref"]) == (CITY, "MEM-000001")
    assert callback.handoff.id == world.connectors[HOTLINE].delivered[0].handoff_id


async def test_transient_failures_to_the_end_of_the_schedule_dead_letter_the_handoff() -> None:
    world = World()
    world.connectors[CITY].fail_with = TransientDelivery("HTTP 503", status_code=503)
    order_id, transfer = await ordered_and_dispatched(world)
    schedule = world.directory.profiles[CITY].retry.schedule
    while transfer.handoff.state == HandoffState.pending:
        assert transfer.handoff.attempts < len(schedule), "retried past the schedule's end"
        world.clock.advance(transfer.handoff.next_attempt_at - world.clock.now + 1)
        await world.dispatch()
        (transfer,) = await world.handoffs(order_id, HandoffKind.transfer)
    assert transfer.handoff.state == HandoffState.dead
    assert transfer.handoff.attempts == len(schedule)
    events = handoff_events(world, transfer.handoff.id)
    assert events.count("retry_scheduled") == len(schedule) - 1
    assert events[-2:] == ["failed", "dead_lettered"]
    assert (await world.order(order_id)).order.status == Status.received


async def received(world: World, agency: str, lane: Lane) -> set[Lane]:
    """Claim `agency`'s next handoff in `lane` and record a 200 for it as the recorder
    does; the lanes woken."""
    now = world.clock()
    (handoff,) = await world.store.write(
        lambda uow: uow.handoffs.claim(now, {agency: 1}, lane, now + 60, "unit-test")
    )
    receipt = Receipt(200, "0" * 64, agency_ref="CASE-1")
    dispatcher = world.dispatcher
    for wake in dispatcher._wake.values():
        wake.clear()
    dispatcher._outcomes[lane].put_nowait(
        Attempt(handoff, "memory:", "v1a,x", now, now, receipt=receipt)
    )
    await dispatcher._flush_outcomes(lane)
    return {lane for lane, wake in dispatcher._wake.items() if wake.is_set()}


async def test_a_receipt_wakes_only_the_lane_of_the_callback_it_queued() -> None:
    world = World()
    await world.accept(submitted("GZ-1"))
    # a normal order's callback to the hotline: no emergency claim runs for it
    assert await received(world, CITY, Lane.normal) == {Lane.normal}
    await world.accept(submitted("GZ-2", urgency="emergency"))
    assert await received(world, CITY, Lane.emergency) == {Lane.emergency}


async def test_a_callbacks_receipt_wakes_no_lane() -> None:
    world = World()
    await world.accept(submitted("GZ-1"))
    await received(world, CITY, Lane.normal)  # queues the callback
    assert await received(world, HOTLINE, Lane.normal) == set()


def test_waking_names_the_lanes_it_wakes_and_wake_all_wakes_every_lane() -> None:
    dispatcher = World().dispatcher

    def woken() -> set[Lane]:
        found = {lane for lane, wake in dispatcher._wake.items() if wake.is_set()}
        for wake in dispatcher._wake.values():
            wake.clear()
        return found

    woken()
    dispatcher.wake()  # a commit that queued nothing
    assert woken() == set()
    dispatcher.wake(Lane.emergency)
    assert woken() == {Lane.emergency}
    dispatcher.wake_all()  # start-up, a replay, an agency resumed
    assert woken() == set(Lane)
