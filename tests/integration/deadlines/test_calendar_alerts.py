"""A live deadline in a provisional or unknown calendar year raises an alert, however set."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from connectors.simulators.agency import Script
from tests.conftest import Stack
from tests.integration.api.helpers import deadlines_set, order, wait_until


def calendar_alerts(stack: Stack, order_id: str) -> list[tuple[str, list[int]]]:
    return [
        (a["alert"], a["detail"]["years"])
        for a in stack.hotline.alerts
        if a["order_id"] == order_id and a["alert"].startswith("calendar_")
    ]


def test_a_deadline_the_hotline_sets_in_the_provisional_2027_is_flagged(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    given = order("CAL-1", due={"resolve_by": "2027-01-15T18:00:00+08:00"})
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=given).json()["id"]
        wait_until(lambda: calendar_alerts(stack, order_id), what="the calendar alert")
        timeline = client.get(f"/v1/work-orders/{order_id}").json()["timeline"]
    assert calendar_alerts(stack, order_id) == [("calendar_provisional_year", [2027])]
    entry = deadlines_set(timeline)
    assert (entry["calendar_provisional_years"], entry["calendar_unknown_years"]) == ([2027], [])


def test_an_extension_into_a_year_nobody_covers_is_flagged_as_unknown(
    make_stack: Callable[..., Stack],
) -> None:
    asks = Script(steps=(("已签收", 0.05), ("申请延期", 0.05)), reasons={"申请延期": "需要鉴定"})
    stack = make_stack({"tax-12366": asks})
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order("CAL-2")).json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "extension_requested")
        approval = {
            "type": "approve_extension",
            "event_id": "ext-far",
            "occurred_at": datetime.now(UTC).isoformat(),
            "resolve_by": "2028-03-01T18:00:00+08:00",
        }
        assert client.post(f"/v1/work-orders/{order_id}/events", json=approval).status_code == 200
        wait_until(lambda: calendar_alerts(stack, order_id), what="the calendar alert")
    assert calendar_alerts(stack, order_id) == [("calendar_unknown_year", [2028])]


def test_a_deadline_inside_an_official_year_raises_no_calendar_alert(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(watch_interval=0.2)
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order("CAL-3")).json()["id"]
        wait_until(lambda: stack.hotline.alerts_for(order_id), what="its overdue cards")
        time.sleep(0.5)
    assert calendar_alerts(stack, order_id) == []
