"""Agency updates through status sync, over the memory store: applied, duplicate, refused."""

from __future__ import annotations

import pytest

from gateway.domain.errors import NotAddressed, OrderClosed, Superseded, UnknownOrder
from gateway.domain.messages import HOTLINE, HandoffKind, Lane
from gateway.domain.states import Status
from gateway.service.audit import verify_chain
from gateway.service.ports.transport import Outcome
from tests.unit.service.world import CITY, World, submitted, update


async def new_order(world: World) -> str:
    result = await world.accept(submitted())
    return result.order.id


async def test_a_lead_agency_update_is_applied_and_reported_to_the_hotline() -> None:
    world = World()
    order_id = await new_order(world)
    world.clock.advance(120)
    outcome = await world.send(CITY, "m-1", update(order_id, "accepted", world.clock.now))
    assert outcome == Outcome("applied", order_id, Status.signed.value)
    stored = await world.order(order_id)
    assert stored.order.status == Status.signed
    callbacks = await world.handoffs(order_id, HandoffKind.status)
    assert [view.handoff.agency for view in callbacks] == [HOTLINE, HOTLINE]  # dispatched, signed
    assert world.audit_events(order_id).count("status_applied") == 2
    assert world.wake_ups == 1
    assert verify_chain(world.store.audit_records(), world.store.audit_head()).ok


@pytest.mark.parametrize("urgency", ["normal", "emergency"])
async def test_an_applied_update_wakes_only_the_lane_of_the_callback_it_queued(
    urgency: str,
) -> None:
    world = World()
    result = await world.accept(submitted(urgency=urgency))
    world.lanes_woken.clear()  # intake's own wake-up
    await world.send(CITY, "m-1", update(result.order.id, "accepted", world.clock.now))
    # the hotline's callbacks go in the order's lane: the other lane runs no claim for them
    assert world.lanes_woken == [(Lane(urgency),)]


async def test_signing_for_an_order_settles_its_sign_for_cards() -> None:
    world = World()
    order_id = await new_order(world)
    await world.send(CITY, "m-1", update(order_id, "accepted", world.clock.now))
    watches = await world.store.read(lambda uow: uow.watches.for_order(order_id))
    states = {(watch.kind, state) for watch, state in watches}
    assert states == {("acknowledge", "settled"), ("resolve", "armed")}


async def test_the_same_message_id_again_is_a_duplicate_and_applies_nothing() -> None:
    world = World()
    order_id = await new_order(world)
    await world.send(CITY, "m-1", update(order_id, "accepted", world.clock.now))
    world.clock.advance(60)
    outcome = await world.send(CITY, "m-1", update(order_id, "working", world.clock.now))
    assert outcome == Outcome("duplicate")
    assert (await world.order(order_id)).order.status == Status.signed
    assert len(await world.handoffs(order_id, HandoffKind.status)) == 2
    assert world.wake_ups == 1  # the first only: the duplicate queued nothing to claim


async def test_an_update_for_an_unknown_order_is_refused_on_record() -> None:
    world = World()
    with pytest.raises(UnknownOrder):
        await world.send(CITY, "m-1", update("wo_missing", "accepted", world.clock.now))
    (refusal,) = world.store.audit_records()
    assert (refusal.event, refusal.order_id, refusal.party) == ("refused", "wo_missing", CITY)
    assert '"code":"unknown_order"' in refusal.detail
    assert world.wake_ups == 0


async def test_a_refused_message_id_is_not_remembered() -> None:
    world = World()
    order_id = await new_order(world)
    with pytest.raises(UnknownOrder):
        await world.send(CITY, "m-1", update("wo_missing", "accepted", world.clock.now))
    outcome = await world.send(CITY, "m-1", update(order_id, "accepted", world.clock.now))
    assert outcome.result == "applied"


async def test_the_agency_clock_decides_nothing_and_a_backward_step_is_outdated() -> None:
    world = World()
    order_id = await new_order(world)
    applied_at = world.clock.now
    await world.send(CITY, "m-1", update(order_id, "accepted", applied_at))
    working = await world.send(CITY, "m-2", update(order_id, "working", applied_at - 299))
    assert working == Outcome("applied", order_id, Status.in_progress.value)
    late = await world.send(CITY, "m-3", update(order_id, "accepted", applied_at + 299))
    assert late == Outcome("outdated", order_id, Status.in_progress.value)
    assert (await world.order(order_id)).order.status == Status.in_progress


async def test_a_cancelled_order_refuses_updates_with_order_closed() -> None:
    world = World()
    order_id = await new_order(world)
    await world.event(order_id, "cancel", reason="市民撤诉")
    with pytest.raises(OrderClosed):
        await world.send(CITY, "m-1", update(order_id, "accepted", world.clock.now))
    assert world.audit_events(order_id)[-1] == "refused"


async def test_the_old_agency_is_superseded_after_a_reassignment() -> None:
    world = World()
    order_id = await new_order(world)
    await world.send(CITY, "m-1", update(order_id, "rejected", world.clock.now, "非本单位"))
    outcome = await world.event(order_id, "reassign", reason="改派", agency="tax-12366")
    assert outcome.status == Status.reassigned.value
    with pytest.raises(Superseded):
        await world.send(CITY, "m-2", update(order_id, "replied", world.clock.now))
    stored = (await world.order(order_id)).order
    assert [(a.agency, a.generation, a.step.value) for a in stored.assignments] == [
        (CITY, 1, "returned"),
        ("tax-12366", 2, "pending"),
    ]


async def test_an_agency_may_not_update_an_order_not_handed_to_it() -> None:
    world = World()
    order_id = await new_order(world)
    with pytest.raises(NotAddressed):
        await world.send("tax-12366", "m-1", update(order_id, "已签收", world.clock.now))
    assert (await world.order(order_id)).order.status == Status.received
