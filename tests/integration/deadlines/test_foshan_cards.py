"""Foshan's cards: overdue → yellow, seriously overdue → red → automatic 督办 to the agency.

The gateway runs from the real bootstrap with a clock the test moves forward (days pass in
milliseconds); the hotline and the tax agency are real HTTP simulators on loopback, so the
supervision notice travels the agency's own transport, signed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from connectors.memory import MemoryConnector
from connectors.simulators.agency import AgencySimulator
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.server import ServerThread
from gateway.bootstrap import Gateway, bootstrap
from gateway.crypto.signing import (
    MessageSigner,
    generate_ed25519_key,
    parse_signing_key,
    public_text_of,
)
from gateway.domain.workorder import WorkOrderIn
from gateway.mapping.calendar_files import load_calendars
from gateway.mapping.calendars import ChineseWorkdays
from gateway.service.deadlines.workdays import add_working_days
from gateway.service.views.timeline import order_timeline
from gateway.settings import REPO_ROOT, Settings
from tests.integration.api.helpers import order

SHANGHAI = ZoneInfo("Asia/Shanghai")
REAL = ("hotline", "tax-12366")


@dataclass
class World:
    """Simulated hotline and tax agency on loopback, and the keys between them."""

    hotline: HotlineSimulator
    tax: AgencySimulator
    hotline_url: str
    tax_url: str
    gateway_key: str
    tax_key: str


@pytest.fixture
def world() -> Iterator[World]:
    gateway_key, tax_key = generate_ed25519_key(), generate_ed25519_key()
    public = public_text_of(gateway_key)
    hotline = HotlineSimulator([public])
    tax = AgencySimulator("tax-12366", "http://127.0.0.1:9", [public], tax_key)
    with ServerThread(hotline.app) as h, ServerThread(tax.app) as t:
        yield World(hotline, tax, h.url, t.url, gateway_key, tax_key)


class MovableClock:
    """The real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def set(self, when: datetime) -> None:
        self.offset = when.timestamp() - time.time()


def gateway_for(world: World, database_url: str, clock: MovableClock) -> Gateway:
    settings = Settings(
        database_url=database_url,
        hotline_callback_url=f"{world.hotline_url}/callbacks",
        agency_endpoints={"tax-12366": f"{world.tax_url}/orders"},
        agency_keys={"tax-12366": [public_text_of(world.tax_key)]},
        signing_keys=[SecretStr(world.gateway_key)],
        poll_interval=0.1,
        watch_interval=60,  # the test ticks the watch itself
    )
    names = [p.stem for p in (REPO_ROOT / "mappings" / "agencies").glob("*.toml")]
    fakes = {name: MemoryConnector(name) for name in names if name not in REAL}
    fakes["alert-channel"] = MemoryConnector("alert-channel")
    return bootstrap(settings, connector_overrides=fakes, clock=clock)


async def until(check: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def sign_for(gw: Gateway, world: World, order_id: str) -> None:
    """The tax agency's signed 已签收, as it would POST it."""
    update = {
        "type": "status",
        "order_id": order_id,
        "status": "已签收",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    body = json.dumps(update, ensure_ascii=False).encode()
    headers = MessageSigner([parse_signing_key(world.tax_key)]).headers(f"u-{order_id}", body)
    await gw.sync.receive("tax-12366", headers, body)


def supervise_notices(world: World, order_id: str) -> list[dict[str, Any]]:
    return [
        p
        for p in world.tax.payloads
        if p.get("order_id") == order_id and p.get("event") == "supervise"
    ]


def cards(world: World, order_id: str) -> list[tuple[str, str, str]]:
    return [
        (a["alert"], a["level"], a["detail"].get("card", ""))
        for a in world.hotline.alerts
        if a["order_id"] == order_id and a["alert"].startswith("resolve_")
    ]


def test_foshan_cards_an_overdue_case_yellow_then_red_with_automatic_supervision(
    world: World, database_url: str
) -> None:
    asyncio.run(_foshan(world, database_url))


async def _foshan(world: World, database_url: str) -> None:
    clock = MovableClock()
    gw = gateway_for(world, database_url, clock)
    gw.start()
    try:
        submitted = WorkOrderIn.model_validate(
            order(
                "FS-1",
                location={"address": "佛山市禅城区", "division_code": "440604"},
                received_at=datetime.now(UTC).isoformat(),
            )
        )
        result = await gw.store.write(lambda uow: gw.intake.accept(uow, submitted))
        order_id, due = result.order.id, result.order.due.resolve_by
        assert due is not None
        await until(lambda: world.hotline.last_status(order_id) == "dispatched", "dispatched")
        await sign_for(gw, world, order_id)
        await until(lambda: world.hotline.last_status(order_id) == "signed", "signed")

        clock.set(due - timedelta(seconds=1))
        await gw.watch.tick()
        await until(lambda: cards(world, order_id), "the warning")
        assert cards(world, order_id) == [("resolve_blue", "blue", "预警")]

        clock.set(due + timedelta(seconds=1))
        await gw.watch.tick()
        await until(lambda: len(cards(world, order_id)) == 2, "the yellow card")
        assert cards(world, order_id)[1] == ("resolve_yellow", "yellow", "黄牌")
        assert world.hotline.last_status(order_id) == "signed", "no 督办 at the yellow card"

        clock.set(due + timedelta(days=1))  # one working day late at most: not yet serious
        await gw.watch.tick()
        await asyncio.sleep(0.3)
        assert len(cards(world, order_id)) == 2, "red before it is seriously overdue"
        calendar = ChineseWorkdays(load_calendars(REPO_ROOT / "mappings"))
        serious_day = add_working_days(due.astimezone(SHANGHAI).date(), 3, calendar).due
        serious = datetime.combine(serious_day, due.astimezone(SHANGHAI).timetz())
        clock.set(serious + timedelta(seconds=1))
        await gw.watch.tick()
        await until(lambda: len(cards(world, order_id)) == 3, "the red card")
        notice = (await until(lambda: supervise_notices(world, order_id), "督办 notice"))[0]
        await until(lambda: world.hotline.last_status(order_id) == "supervised", "supervised")
        timeline = await gw.store.read(lambda uow: order_timeline(uow, order_id))
    finally:
        await gw.aclose()
    red = next(a for a in world.hotline.alerts if a["alert"] == "resolve_red")
    assert (red["level"], red["detail"]["card"], red["detail"]["tier"]) == (
        "red",
        "红牌",
        "seriously_overdue",
    )
    assert datetime.fromisoformat(red["detail"]["due_at"]) == serious
    assert red["detail"]["supervision"] is True
    assert notice["status"] == "supervised" and "红牌" in notice["reason"]
    events = [e["event"] for e in timeline["timeline"]]
    assert events.count("supervised_automatically") == 1
    moved = [e for e in timeline["timeline"] if e["detail"].get("to") == "supervised"]
    assert moved and moved[0]["party"] == "deadline-policy"
