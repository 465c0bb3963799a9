"""No attempt outlives its lease: the dispatcher cuts it at its deadline, whatever the
connector does (here one that never answers), and records a transient failure."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.memory import MemoryConnector
from gateway.bootstrap import Gateway, bootstrap
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.messages import Delivery, Receipt
from gateway.domain.workorder import WorkOrderIn
from gateway.service.views.timeline import order_timeline
from gateway.settings import REPO_ROOT, Settings
from tests.integration.api.helpers import order

TAX = "tax-12366"
LEASE, DEADLINE = 2.0, 0.4


@dataclass
class SilentAgency:
    """Takes every delivery and never answers; counts the calls it was cancelled in."""

    calls: int = 0
    cancelled: int = 0
    started: list[float] = field(default_factory=list)

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.calls += 1
        self.started.append(time.monotonic())
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("never reached")

    async def aclose(self) -> None:
        """Nothing to release."""


@pytest.fixture
def one_slot(tmp_path: Path) -> Path:
    """The shipped mappings with the tax agency taking one delivery at a time."""
    root = tmp_path / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", root)
    tax = root / "agencies" / f"{TAX}.toml"
    tax.write_text(
        tax.read_text(encoding="utf-8").replace("concurrency = 8", "concurrency = 1"),
        encoding="utf-8",
    )
    return root


@pytest.fixture
async def gateway(
    database_url: str, one_slot: Path, agency: SilentAgency
) -> AsyncIterator[Gateway]:
    settings = Settings(
        database_url=database_url,
        mappings_dir=one_slot,
        hotline_callback_url="memory://hotline",
        signing_keys=[SecretStr(generate_ed25519_key())],
        lease_seconds=LEASE,
        attempt_seconds=DEADLINE,
        poll_interval=0.05,
    )
    fakes: dict[str, Any] = {
        "hotline": MemoryConnector("hotline"),
        "city-management": MemoryConnector(),
        TAX: agency,
    }
    gw = bootstrap(settings, connector_overrides=fakes)
    gw.start()
    yield gw
    await gw.aclose()


@pytest.fixture
def agency() -> SilentAgency:
    return SilentAgency()


async def submit(gw: Gateway, *flow_ids: str) -> list[str]:
    """Accept orders in one transaction (so one claim leases them all); their ids."""
    submitted = [WorkOrderIn.model_validate(order(f, route_to=[TAX])) for f in flow_ids]
    accepted = await gw.store.write(lambda uow: [gw.intake.accept(uow, s) for s in submitted])
    gw.dispatcher.wake_all()
    return [a.order.id for a in accepted]


async def failures(gw: Gateway, order_id: str) -> list[dict[str, Any]]:
    """The `failed` entries about the tax agency's handoff, once there is one."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        timeline = (await gw.store.read(lambda uow: order_timeline(uow, order_id)))["timeline"]
        found = [e for e in timeline if e["event"] == "failed" and e["party"] == TAX]
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("no failure recorded")


async def test_an_agency_that_never_answers_is_cut_at_the_deadline_inside_the_lease(
    gateway: Gateway, agency: SilentAgency
) -> None:
    submitted = time.monotonic()  # the attempt, and its deadline, start after this
    (order_id,) = await submit(gateway, "GZ-SILENT")
    (failed,) = await failures(gateway, order_id)
    seen = time.monotonic()
    detail = failed["detail"]
    assert detail["retryable"] is True and detail["attempt"] == 1
    assert detail["error"].startswith("attempt deadline: no complete answer within 0.4 s")
    assert agency.cancelled == 1
    # not cut before its deadline (counted from the claim, which may come well before
    # the request reaches the agency on a busy machine), and ended inside its lease
    assert seen - submitted >= DEADLINE
    assert seen - agency.started[0] < LEASE


async def test_an_attempt_waiting_for_a_delivery_slot_is_cut_at_its_deadline_too(
    gateway: Gateway, agency: SilentAgency
) -> None:
    orders = await submit(gateway, "GZ-SILENT-1", "GZ-SILENT-2")
    errors = [(await failures(gateway, i))[0]["detail"]["error"] for i in orders]
    assert sorted(e.split(" within")[0] for e in errors) == [
        "attempt deadline: no complete answer",
        "attempt deadline: no free delivery slot",
    ]
    assert agency.calls == 1  # the second attempt never reached the connector
