"""The dispatcher with a stale outcome, on real SQLite and PostgreSQL.

The first attempt of a transfer hangs in a gated connector while the dispatcher's clock
jumps past its lease (a paused process, a slow group commit), so the handoff is claimed
again and the second attempt's result is recorded first. The first attempt's result then
arrives last: it is audited as `stale_outcome` and changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.memory import MemoryConnector
from gateway.bootstrap import Gateway, bootstrap
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.errors import DeliveryError, PermanentDelivery, TransientDelivery
from gateway.domain.messages import Delivery, Receipt
from gateway.domain.workorder import WorkOrderIn
from gateway.service.audit import verify_chain
from gateway.service.views.timeline import order_timeline
from gateway.settings import Settings
from tests.integration.api.helpers import order

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

TAX = "tax-12366"
LEASE = 60.0

Answer = Receipt | DeliveryError


def receipt(case: str) -> Receipt:
    return Receipt(200, hashlib.sha256(case.encode()).hexdigest(), agency_ref=case)


@dataclass
class GatedAgency:
    """Answers its n-th call with `answers[n]`; the first call waits for `release`."""

    answers: list[Answer]
    calls: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.calls += 1
        answer = self.answers[self.calls - 1]
        if self.calls == 1:
            await self.release.wait()
        if isinstance(answer, DeliveryError):
            raise answer
        return answer

    async def aclose(self) -> None:
        """Nothing to release."""


@dataclass
class Clock:
    """The dispatcher's clock, moved on by the test."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    gateway: Gateway
    agency: GatedAgency
    clock: Clock
    hotline: MemoryConnector


@pytest.fixture
async def world(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    agency = GatedAgency(list(request.param))
    clock = Clock()
    settings = Settings(
        database_url=database_url,
        hotline_callback_url="memory://hotline",
        signing_keys=[SecretStr(generate_ed25519_key())],
        lease_seconds=LEASE,
        attempt_seconds=30.0,  # loop time: never reached here, the clock jumps instead
        poll_interval=0.05,
    )
    hotline = MemoryConnector("hotline")
    fakes: dict[str, Any] = {"hotline": hotline, "city-management": MemoryConnector(), TAX: agency}
    gateway = bootstrap(settings, connector_overrides=fakes, clock=clock)
    gateway.start()
    yield World(gateway, agency, clock, hotline)
    agency.release.set()
    await gateway.aclose()


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def submit(world: World) -> str:
    submitted = WorkOrderIn.model_validate(order("GZ-STALE", route_to=[TAX]))
    gateway = world.gateway
    accepted = await gateway.store.write(lambda uow: gateway.intake.accept(uow, submitted))
    gateway.dispatcher.wake_all()
    return accepted.order.id


async def view(world: World, order_id: str) -> dict[str, Any]:
    return await world.gateway.store.read(lambda uow: order_timeline(uow, order_id))


async def tax_handoff(world: World, order_id: str) -> dict[str, Any]:
    return next(h for h in (await view(world, order_id))["handoffs"] if h["agency"] == TAX)


async def events(world: World, order_id: str, name: str) -> list[dict[str, Any]]:
    """The order's `name` entries about the tax agency's handoff."""
    timeline = (await view(world, order_id))["timeline"]
    return [e for e in timeline if e["event"] == name and e["party"] == TAX]


async def second_attempt_recorded(world: World, order_id: str, state: str) -> None:
    """Let the first attempt hang, move the clock past its lease, and wait until the
    second attempt's outcome is recorded (the handoff in `state`)."""

    async def first_hanging() -> bool:
        return world.agency.calls == 1

    async def recorded() -> bool:
        handoff = await tax_handoff(world, order_id)
        return world.agency.calls == 2 and handoff["state"] == state

    await until(first_hanging, "the first attempt")
    world.clock.now += LEASE + 1
    world.gateway.dispatcher.wake_all()
    await until(recorded, f"the second attempt's outcome ({state})")


async def release_first(world: World, order_id: str) -> dict[str, Any]:
    """Let the first attempt end; its `stale_outcome` entry's detail."""

    async def audited() -> bool:
        return bool(await events(world, order_id, "stale_outcome"))

    world.agency.release.set()
    await until(audited, "the stale outcome on record")
    (stale,) = await events(world, order_id, "stale_outcome")
    return dict(stale["detail"])


def chain_verifies(gateway: Gateway) -> bool:
    store: Any = gateway.store
    return bool(verify_chain(store.audit_records(), store.audit_head()).ok)


@pytest.mark.parametrize(
    "world",
    [[PermanentDelivery("HTTP 400: 字段缺失", status_code=400), receipt("CASE-2")]],
    indirect=True,
)
async def test_a_late_4xx_does_not_dead_letter_a_handoff_the_next_attempt_delivered(
    world: World,
) -> None:
    order_id = await submit(world)
    await second_attempt_recorded(world, order_id, "delivered")
    stale = await release_first(world, order_id)
    handoff = await tax_handoff(world, order_id)
    current = await view(world, order_id)
    assert stale["attempt"] == 1 and stale["outcome"] == "failed" and stale["status"] == 400
    assert (handoff["state"], handoff["agency_ref"], handoff["attempts"]) == (
        "delivered",
        "CASE-2",
        2,
    )
    assert current["status"] == "dispatched"
    assert current["work_order"]["partner_ids"][TAX] == "CASE-2"
    assert len(world.hotline.delivered) == 1  # one `dispatched` callback, not two
    assert not await events(world, order_id, "failed")
    assert not await events(world, order_id, "dead_lettered")
    assert len(await events(world, order_id, "delivered")) == 1
    assert chain_verifies(world.gateway)


@pytest.mark.parametrize(
    "world",
    [[receipt("CASE-1"), TransientDelivery("HTTP 503", status_code=503), receipt("CASE-3")]],
    indirect=True,
)
async def test_a_late_receipt_changes_nothing_after_the_next_attempt_failed(
    world: World,
) -> None:
    order_id = await submit(world)
    await second_attempt_recorded(world, order_id, "pending")
    stale = await release_first(world, order_id)
    handoff = await tax_handoff(world, order_id)
    current = await view(world, order_id)
    assert stale == {
        "attempt": 1,
        "endpoint": stale["endpoint"],
        "ms": stale["ms"],
        "response_digest": stale["response_digest"],
        "claim": stale["claim"],
        "outcome": "acknowledged",
        "status": 200,
        "agency_ref": "CASE-1",
    }
    assert (handoff["state"], handoff["agency_ref"], handoff["last_status"]) == (
        "pending",
        None,
        503,
    )
    assert current["status"] == "received" and TAX not in current["work_order"]["partner_ids"]
    assert not await events(world, order_id, "delivered")
    assert not world.hotline.delivered  # no `dispatched` callback to the hotline
    assert chain_verifies(world.gateway)
