"""Hotline events over the memory store: supervision, cancellation with its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.domain.errors import InputError, UnknownOrder
from gateway.domain.messages import HandoffKind, HotlineEvent
from gateway.domain.states import Status
from gateway.service.ports.transport import Outcome
from tests.unit.service.world import CITY, World, submitted, update


def event(kind: str, event_id: str, world: World, **more: Any) -> HotlineEvent:
    occurred = datetime.fromtimestamp(world.clock.now, UTC)
    return HotlineEvent.model_validate(
        {"type": kind, "event_id": event_id, "occurred_at": occurred, **more}
    )


async def signed_order(world: World) -> str:
    """An order its lead agency (city management) has signed for."""
    order_id = (await world.accept(submitted())).order.id
    await world.send(CITY, "m-1", update(order_id, "accepted", world.clock.now))
    return order_id


def last_status_entry(world: World, order_id: str) -> dict[str, Any]:
    entries = [r for r in world.store.audit_records() if r.order_id == order_id]
    detail: dict[str, Any] = json.loads(
        [r for r in entries if r.event == "status_applied"][-1].detail
    )
    return detail


async def test_supervision_moves_the_order_and_tells_its_agency() -> None:
    world = World()
    order_id = await signed_order(world)
    world.clock.advance(3600)
    outcome = await world.sync.hotline_event(order_id, event("supervise", "e-1", world))
    assert outcome == Outcome("applied", order_id, Status.supervised.value)
    assert (await world.order(order_id)).order.status == Status.supervised
    events = await world.handoffs(order_id, HandoffKind.event)
    assert [view.handoff.agency for view in events] == [CITY]
    assert b'"supervise"' in events[0].handoff.body
    assert last_status_entry(world, order_id)["to"] == Status.supervised.value


async def test_a_cancellation_keeps_its_reason_and_settles_every_card() -> None:
    world = World()
    order_id = (await world.accept(submitted())).order.id
    reason = "市民来电撤回诉求"
    outcome = await world.sync.hotline_event(order_id, event("cancel", "e-1", world, reason=reason))
    assert outcome == Outcome("applied", order_id, Status.cancelled.value)
    detail = last_status_entry(world, order_id)
    assert (detail["from"], detail["to"], detail["reason"]) == ("received", "cancelled", reason)
    watches = await world.store.read(lambda uow: uow.watches.for_order(order_id))
    assert {state for _, state in watches} == {"settled"}


async def test_a_cancellation_without_a_reason_is_refused_on_record() -> None:
    world = World()
    order_id = (await world.accept(submitted())).order.id
    with pytest.raises(InputError, match="needs a reason"):
        await world.sync.hotline_event(order_id, event("cancel", "e-1", world))
    assert (await world.order(order_id)).order.status == Status.received
    assert world.audit_events(order_id)[-1] == "refused"
    assert await world.handoffs(order_id, HandoffKind.event) == []


async def test_the_same_event_id_again_is_a_duplicate() -> None:
    world = World()
    order_id = await signed_order(world)
    await world.sync.hotline_event(order_id, event("supervise", "e-1", world))
    again = await world.sync.hotline_event(order_id, event("supervise", "e-1", world))
    assert again == Outcome("duplicate", order_id, Status.supervised.value)
    assert len(await world.handoffs(order_id, HandoffKind.event)) == 1


async def test_an_event_for_an_unknown_order_is_refused() -> None:
    world = World()
    with pytest.raises(UnknownOrder):
        await world.sync.hotline_event("wo_missing", event("supervise", "e-1", world))
    assert [r.event for r in world.store.audit_records()] == ["refused"]
