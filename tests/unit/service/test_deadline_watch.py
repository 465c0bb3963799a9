"""The deadline watch over the memory store: which lanes a tick wakes."""

from __future__ import annotations

import json

import pytest

from gateway.domain.messages import HandoffKind, Lane
from tests.unit.service.world import World, submitted

HOUR = 3600.0


@pytest.mark.parametrize("urgency", ["normal", "emergency"])
async def test_fired_deadline_cards_wake_only_the_lane_of_the_alerts_they_queued(
    urgency: str,
) -> None:
    world = World()
    result = await world.accept(submitted(urgency=urgency))
    world.clock.advance(3 * HOUR)  # past the sign-for deadline: its cards are due
    assert await world.watch.tick() > 0
    alerts = await world.handoffs(result.order.id, HandoffKind.alert)
    assert alerts and {view.handoff.lane for view in alerts} == {Lane(urgency)}
    # the other lane runs no claim for them
    assert world.lanes_woken == [(Lane(urgency),)]


async def test_an_escalation_for_an_emergency_agency_wakes_only_the_emergency_lane() -> None:
    world = World()
    result = await world.accept(submitted(urgency="emergency", route_to=["fire-119"]))
    world.clock.advance(61)  # 119 did not answer within its acknowledge_seconds (60)
    assert await world.watch.tick() == 1
    alerts = [view.handoff for view in await world.handoffs(result.order.id, HandoffKind.alert)]
    assert {json.loads(h.body)["alert"] for h in alerts} == {"emergency_unacknowledged"}
    assert {h.lane for h in alerts} == {Lane.emergency}
    assert world.lanes_woken == [(Lane.emergency,)]


async def test_a_tick_that_fires_nothing_wakes_no_lane() -> None:
    world = World()
    await world.accept(submitted())
    assert await world.watch.tick() == 0
    assert world.lanes_woken == []
