"""The claim loop: it claims again at once only when more may be due, and a lane whose
agency filled its quota is claimed again when one of that agency's attempts ends."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from gateway.domain.errors import TransientDelivery
from gateway.domain.messages import Handoff, HandoffKind, Lane
from gateway.service.delivery.dispatcher import Dispatcher
from tests.unit.service.world import CITY, World, submitted


def counting_claims(dispatcher: Dispatcher) -> Counter[tuple[Lane, bool]]:
    """Count the dispatcher's claims by lane and whether they took anything."""
    claims: Counter[tuple[Lane, bool]] = Counter()
    claim = dispatcher._claim

    async def counted(lane: Lane) -> tuple[list[Handoff], float, bool]:
        result = await claim(lane)
        claims[lane, bool(result[0])] += 1
        return result

    dispatcher._claim = counted  # type: ignore[method-assign]
    return claims


@asynccontextmanager
async def running(world: World) -> AsyncIterator[None]:
    """The dispatcher running, polling too seldom to matter within a test."""
    world.dispatcher.settings = replace(world.dispatcher.settings, poll_interval=60.0)
    task = asyncio.create_task(world.dispatcher.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def attempted(world: World, order_id: str, attempts: int = 1) -> bool:
    """Whether the order's transfer has had `attempts` attempts and none is under way."""
    (transfer,) = await world.handoffs(order_id, HandoffKind.transfer)
    return transfer.handoff.attempts == attempts and transfer.handoff.state != "in_flight"


async def test_a_claim_that_took_less_than_was_due_is_not_followed_by_an_empty_one() -> None:
    world = World()
    order_id = (await world.accept(submitted())).order.id
    claims = counting_claims(world.dispatcher)
    async with running(world), asyncio.timeout(5):
        while len(await world.handoffs(order_id, HandoffKind.status)) < 1:
            await asyncio.sleep(0.005)
        (callback,) = await world.handoffs(order_id, HandoffKind.status)  # its lane woken
        while not world.connectors[callback.handoff.agency].delivered:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # time for any claim that would follow
    # the transfer, then the status callback: each claim took one, none came back empty
    assert claims[Lane.normal, False] == 0
    assert claims[Lane.normal, True] == 2


async def test_an_agency_that_filled_its_quota_is_claimed_again_when_an_attempt_ends() -> None:
    world = World()
    first = (await world.accept(submitted("GZ-1"))).order.id
    second = (await world.accept(submitted("GZ-2"))).order.id
    concurrency = world.directory.profile(CITY).concurrency
    world.dispatcher._per_agency[CITY] = 2 * concurrency - 1  # room for one attempt at a time
    # failures queue no callback (whose wake-up would claim the second transfer anyway)
    world.connectors[CITY].fail_with = TransientDelivery("busy")
    async with running(world), asyncio.timeout(5):
        while not (await attempted(world, first) and await attempted(world, second)):
            await asyncio.sleep(0.005)
