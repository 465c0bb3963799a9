"""Intake across the 2026/2027 year boundary, through the real bootstrap and database.

The gateway's clock is set just after each order's `received_at`, as if the order arrived
then, so dates in 2027 pass the future-received check. Deadlines come from the shipped
policies and calendar files (2027 provisional).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr

from connectors.memory import MemoryConnector
from gateway.bootstrap import Gateway, bootstrap
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.errors import ReceivedInFuture
from gateway.domain.workorder import WorkOrderIn
from gateway.service.views.timeline import order_timeline
from gateway.settings import REPO_ROOT, Settings
from tests.integration.api.helpers import deadlines_set, order

CASES = [
    # flow id, category, received_at as sent, resolve_by, provisional years
    ("YB-1", "help", "2026-12-28T10:00:00+08:00", "2027-01-05T23:59:59+08:00", [2027]),
    ("YB-2", "consult", "2026-12-31T17:30:00+08:00", "2027-01-06T23:59:59+08:00", [2027]),
    ("YB-3", "help", "2026-12-27T23:00:00Z", "2027-01-05T23:59:59+08:00", [2027]),
    ("YB-4", "complaint", "2027-01-28T09:00:00+08:00", "2027-02-22T23:59:59+08:00", [2027]),
    ("YB-5", "consult", "2027-02-04T09:00:00+08:00", "2027-02-15T23:59:59+08:00", [2027]),
    (
        "YB-6",
        "consult",
        "2026-05-08T09:00:00+08:00",
        "2026-05-12T23:59:59+08:00",
        [],
    ),  # make-up Sat 9 May
]


class FixedClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def gateway_at(database_url: str, clock: FixedClock) -> Gateway:
    settings = Settings(
        database_url=database_url,
        hotline_callback_url="memory://hotline",
        signing_keys=[SecretStr(generate_ed25519_key())],
    )
    names = [p.stem for p in (REPO_ROOT / "mappings" / "agencies").glob("*.toml")]
    fakes = {name: MemoryConnector(name) for name in names}
    return bootstrap(settings, connector_overrides=fakes, clock=clock)


def test_deadlines_across_the_year_boundary_in_beijing_days(database_url: str) -> None:
    asyncio.run(_across(database_url))


async def _across(database_url: str) -> None:
    clock = FixedClock()
    gw = gateway_at(database_url, clock)
    try:
        for flow_id, category, received, expected, provisional in CASES:
            sent = datetime.fromisoformat(received)
            clock.now = (sent + timedelta(minutes=1)).timestamp()
            submitted = WorkOrderIn.model_validate(
                order(flow_id, category=category, received_at=received)
            )
            result = await gw.store.write(lambda uow, s=submitted: gw.intake.accept(uow, s))
            stored_id = result.order.id
            view = await gw.store.read(lambda uow, i=stored_id: order_timeline(uow, i))
            due = view["work_order"]["due"]["resolve_by"]
            entry = deadlines_set(view["timeline"])
            assert (flow_id, due) == (flow_id, expected)
            assert entry["calendar_provisional_years"] == provisional, flow_id
            alerts = [
                e["detail"]["alert"] for e in view["timeline"] if e["event"] == "alert_raised"
            ]
            assert ("calendar_provisional_year" in alerts) == bool(provisional), flow_id
    finally:
        await gw.aclose()


@pytest.mark.parametrize("ahead_s", [301.0, 62 * 86_400.0])
def test_the_clock_decides_what_is_in_the_future(database_url: str, ahead_s: float) -> None:
    asyncio.run(_future(database_url, ahead_s))


async def _future(database_url: str, ahead_s: float) -> None:
    clock = FixedClock()
    gw = gateway_at(database_url, clock)
    try:
        received = "2027-02-05T09:00:00+08:00"
        clock.now = datetime.fromisoformat(received).timestamp() - ahead_s
        submitted = WorkOrderIn.model_validate(order("YB-F", received_at=received))
        with pytest.raises(ReceivedInFuture):
            await gw.store.write(lambda uow: gw.intake.accept(uow, submitted))
        clock.now += ahead_s - 299.0  # now within the tolerance
        result = await gw.store.write(lambda uow: gw.intake.accept(uow, submitted))
        assert result.created
    finally:
        await gw.aclose()
