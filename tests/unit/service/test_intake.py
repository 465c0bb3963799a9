"""Intake over the memory store: create, the same revision again, a newer one, an older one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.domain.errors import RevisionConflict, Unmappable
from gateway.domain.messages import HandoffKind, HandoffState, Lane
from gateway.domain.states import Status
from gateway.service.audit import verify_chain
from tests.unit.service.world import World, submitted


async def test_a_new_order_is_stored_routed_and_queued_for_its_agency() -> None:
    world = World()
    result = await world.accept(submitted(route_to=["city-management", "tax-12366"]))
    stored = await world.order(result.order.id)
    assert result.created
    assert (stored.order.status, stored.order.lead_agency) == (Status.received, "city-management")
    assert stored.order.assisting_agencies == ["tax-12366"]
    assert stored.created_at == world.clock.now
    transfers = await world.handoffs(result.order.id, HandoffKind.transfer)
    assert [view.handoff.agency for view in transfers] == ["city-management", "tax-12366"]
    assert {view.handoff.state for view in transfers} == {HandoffState.pending}
    assert [view.handoff.id for view in transfers] == list(result.handoff_ids)
    assert world.audit_events(result.order.id) == ["received"]  # routed, deadlines, mapped
    assert verify_chain(world.store.audit_records(), world.store.audit_head()).ok


async def test_the_received_entry_names_the_routing_deadlines_and_queued_transfers() -> None:
    world = World()
    result = await world.accept(submitted(route_to=["city-management", "tax-12366"]))
    (entry,) = [r for r in world.store.audit_records() if r.order_id == result.order.id]
    detail = json.loads(entry.detail)
    assert detail["routed"]["agencies"] == ["city-management", "tax-12366"]
    assert detail["deadlines_set"]["acknowledge_by"] == result.order.due.acknowledge_by.isoformat()
    transfers = await world.handoffs(result.order.id, HandoffKind.transfer)
    assert [(h["handoff_id"], h["party"], h["payload_digest"]) for h in detail["handoffs"]] == [
        (view.handoff.id, view.handoff.agency, view.handoff.body_digest) for view in transfers
    ]


async def test_a_new_order_arms_its_deadline_cards() -> None:
    world = World()
    result = await world.accept(submitted())
    watches = await world.store.read(lambda uow: uow.watches.for_order(result.order.id))
    armed = {(watch.kind, watch.level) for watch, state in watches if state == "armed"}
    assert armed == {
        ("acknowledge", "yellow"),
        ("acknowledge", "red"),
        ("resolve", "yellow"),
        ("resolve", "red"),
    }


async def test_the_same_revision_again_returns_the_stored_order_and_queues_nothing() -> None:
    world = World()
    first = await world.accept(submitted())
    world.clock.advance(30)
    again = await world.accept(submitted())
    assert (again.created, again.order, again.handoff_ids) == (False, first.order, ())
    assert len(await world.handoffs(first.order.id)) == 1
    assert world.audit_events(first.order.id).count("received") == 1


async def test_a_newer_revision_updates_the_order_and_tells_its_agency() -> None:
    world = World()
    first = await world.accept(submitted())
    world.clock.advance(60)
    newer = submitted(revision=2, content="补充：施工时间为每晚十一点至凌晨三点。")
    result = await world.accept(newer)
    stored = await world.order(first.order.id)
    assert result.created
    assert (stored.order.revision, stored.order.content) == (2, newer.content)
    assert stored.order.due == first.order.due  # deadlines stay unless the hotline sets them
    events = await world.handoffs(first.order.id, HandoffKind.event)
    assert [view.handoff.agency for view in events] == ["city-management"]
    assert world.audit_events(first.order.id)[-1] == "supplemented"  # naming the event queued
    entry = list(world.store.audit_records())[-1]
    (queued,) = json.loads(entry.detail)["handoffs"]
    assert (queued["handoff_id"], queued["kind"]) == (events[0].handoff.id, "event")
    assert queued["payload_digest"] == events[0].handoff.body_digest


async def test_an_older_revision_is_refused_and_changes_nothing() -> None:
    world = World()
    first = await world.accept(submitted())
    await world.accept(submitted(revision=3, content="第三版内容。"))
    with pytest.raises(RevisionConflict) as refused:
        await world.accept(submitted(revision=2, content="第二版内容。"))
    assert refused.value.details["stored_revision"] == 3
    stored = await world.order(first.order.id)
    assert (stored.order.revision, stored.order.content) == (3, "第三版内容。")


async def test_an_order_an_agency_cannot_express_stores_nothing_at_all() -> None:
    world = World()
    with pytest.raises(Unmappable):
        await world.accept(
            submitted(route_to=["city-management", "police-110"], matter_code="XX-9")
        )
    assert await world.store.read(lambda uow: uow.orders.find("hotline", "GZ-1")) is None
    assert list(world.store.audit_records()) == []


async def test_submit_writes_and_wakes_the_dispatcher_when_handoffs_were_queued() -> None:
    world = World()
    result = await world.intake.submit(submitted())
    assert result.created and result.handoff_ids
    assert world.wake_ups == 1
    again = await world.intake.submit(submitted())  # nothing queued: nobody to wake
    assert (again.created, world.wake_ups) == (False, 1)


async def test_submit_wakes_only_the_lanes_of_the_handoffs_it_queued() -> None:
    """A normal order wakes the normal lane alone: an emergency lane woken for nothing runs
    a claim that finds nothing (a transaction of its own for every intake)."""
    world = World()
    await world.intake.submit(submitted("GZ-1", route_to=["city-management", "tax-12366"]))
    await world.intake.submit(submitted("GZ-2", urgency="emergency"))
    assert world.lanes_woken == [(Lane.normal,), (Lane.emergency,)]


async def test_submit_wakes_the_lane_of_a_calendar_alert_it_queued_beside_its_transfers() -> None:
    """A normal order for 119 alone has its transfer in the emergency lane; a deadline in a
    year the calendar does not know queues alerts in the order's own, normal lane, which
    is woken too (not left to the next poll)."""
    world = World()
    due = {"resolve_by": "2099-01-05T18:00:00+08:00"}  # a year no calendar knows
    result = await world.intake.submit(submitted(route_to=["fire-119"], due=due))
    queued = {(v.handoff.kind, v.handoff.lane) for v in await world.handoffs(result.order.id)}
    assert queued == {(HandoffKind.transfer, Lane.emergency), (HandoffKind.alert, Lane.normal)}
    assert [set(lanes) for lanes in world.lanes_woken] == [{Lane.emergency, Lane.normal}]


async def test_submit_refuses_an_older_revision_and_writes_nothing() -> None:
    world = World()
    await world.intake.submit(submitted(revision=2))
    records, wake_ups = len(list(world.store.audit_records())), world.wake_ups
    with pytest.raises(RevisionConflict):
        await world.intake.submit(submitted(revision=1))
    assert (len(list(world.store.audit_records())), world.wake_ups) == (records, wake_ups)


async def test_submit_names_the_flow_its_unit_of_work_looks_up_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """So a group commit can look up the flows of several intakes in one statement."""
    world = World()
    named: list[object] = []
    write = world.store.write

    async def noting_write(work: Any, urgent: bool = False, **options: Any) -> Any:
        named.append(options.get("looks_up"))
        return await write(work, urgent, **options)

    monkeypatch.setattr(world.store, "write", noting_write)
    await world.intake.submit(submitted("GZ-7"))
    assert named == [("hotline", "GZ-7")]
