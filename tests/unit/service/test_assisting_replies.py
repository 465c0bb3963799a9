"""协办: the lead's 答复 waits for every assisting reply where the catalogue rule says so."""

from __future__ import annotations

from dataclasses import replace

from gateway.domain.messages import HandoffKind
from gateway.domain.states import Status
from gateway.mapping.profiles import Catalogue, Rule
from gateway.service.ports.transport import Outcome
from tests.unit.service.world import CITY, World, submitted, update

TAX = "tax-12366"


def waiting_world(waits: bool) -> World:
    """A world whose catalogue sends noise complaints to city management with tax assisting."""
    world = World()
    rule = Rule(
        id="joint", agencies=(CITY, TAX), keywords=("噪音",), lead_waits_for_assisting=waits
    )
    catalogue = Catalogue(version="test-1", rules=(rule,))
    world.intake.directory = replace(world.intake.directory, catalogue=catalogue)
    return world


async def joint_order(world: World) -> str:
    order_id = (await world.accept(submitted(route_to=None))).order.id
    for agency in (CITY, TAX):
        await world.send(agency, f"{agency}-1", update(order_id, "signed", world.clock.now))
    return order_id


async def test_the_lead_reply_is_held_until_every_assisting_agency_has_answered() -> None:
    world = waiting_world(waits=True)
    order_id = await joint_order(world)
    held = await world.send(CITY, "c-2", update(order_id, "replied", world.clock.now))
    assert held == Outcome("recorded", order_id, Status.signed.value)
    assert "reply_held" in world.audit_events(order_id)
    released = await world.send(TAX, "t-2", update(order_id, "replied", world.clock.now))
    assert released.result == "recorded"
    stored = (await world.order(order_id)).order
    assert stored.status == Status.replied
    steps = {(a.agency, a.role.value): a.step.value for a in stored.assignments}
    assert steps == {(CITY, "lead"): "replied", (TAX, "assisting"): "replied"}
    told = [view.handoff.body for view in await world.handoffs(order_id, HandoffKind.status)]
    assert b'"status":"replied"' in told[-1]  # the hotline hears when the order is replied


async def test_an_assisting_return_also_releases_the_held_reply() -> None:
    world = waiting_world(waits=True)
    order_id = await joint_order(world)
    await world.send(CITY, "c-2", update(order_id, "replied", world.clock.now))
    back = update(order_id, "returned", world.clock.now, reason="不属税务职责")
    await world.send(TAX, "t-2", back)
    assert (await world.order(order_id)).order.status == Status.replied


async def test_without_the_rule_the_lead_reply_moves_the_order_at_once() -> None:
    world = waiting_world(waits=False)
    order_id = await joint_order(world)
    outcome = await world.send(CITY, "c-2", update(order_id, "replied", world.clock.now))
    assert outcome == Outcome("applied", order_id, Status.replied.value)
