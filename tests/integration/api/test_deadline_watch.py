"""Deadline watch: yellow and red cards, settled by answers, moved by an approved extension."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.simulators.agency import Script
from tests.conftest import Stack
from tests.integration.api.helpers import deadlines_set, mappings_copy, order, wait_until


def at(seconds: float) -> str:
    """An ISO timestamp `seconds` from now."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def alerts(stack: Stack, order_id: str, channel: bool = False) -> list[str]:
    seen = stack.hotline.channel_alerts if channel else stack.hotline.alerts
    return [a["alert"] for a in seen if a["order_id"] == order_id]


def timeline(client: httpx.Client, order_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = client.get(f"/v1/work-orders/{order_id}").json()["timeline"]
    return entries


def test_an_order_nobody_signs_for_gets_a_yellow_then_a_red_card(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(watch_interval=0.2)
    unsigned = order(
        "CARD-1",
        received_at=at(-8),
        due={"acknowledge_by": at(2), "resolve_by": at(3600)},
    )
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=unsigned).json()["id"]
        wait_until(lambda: "acknowledge_yellow" in alerts(stack, order_id), what="yellow")
        assert "acknowledge_red" not in alerts(stack, order_id), "red before the deadline"
        wait_until(lambda: "acknowledge_red" in alerts(stack, order_id), what="red card")
        entries = timeline(client, order_id)
    assert alerts(stack, order_id) == ["acknowledge_yellow", "acknowledge_red"]
    assert alerts(stack, order_id, channel=True) == ["acknowledge_yellow", "acknowledge_red"]
    red = next(a for a in stack.hotline.alerts if a["alert"] == "acknowledge_red")
    assert red["level"] == "red" and red["flow_id"] == "CARD-1"
    raised = [e["detail"]["alert"] for e in entries if e["event"] == "alert_raised"]
    assert raised == ["acknowledge_yellow", "acknowledge_red"], "each card once, on record"


@pytest.mark.slow
def test_signing_in_time_settles_the_sign_for_cards_but_not_the_resolve_ones(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack({"tax-12366": Script(steps=(("已签收", 0.05),))}, watch_interval=0.2)
    quick = order("CARD-2", received_at=at(0), due={"acknowledge_by": at(3), "resolve_by": at(4)})
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=quick).json()["id"]
        wait_until(lambda: "resolve_red" in alerts(stack, order_id), what="resolve red card")
    assert alerts(stack, order_id) == ["resolve_yellow", "resolve_red"]


@pytest.mark.slow
def test_an_approved_extension_moves_the_deadline_and_its_cards(
    make_stack: Callable[..., Stack],
) -> None:
    extension = Script(
        steps=(("已签收", 0.05), ("申请延期", 0.05)),
        reasons={"申请延期": "需要会同住建部门现场勘查"},
    )
    stack = make_stack({"tax-12366": extension}, watch_interval=0.2)
    tight = order("CARD-3", received_at=at(0), due={"resolve_by": at(3)})
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=tight).json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "extension_requested")
        new_due = at(3600)
        approved = client.post(
            f"/v1/work-orders/{order_id}/events",
            json={
                "type": "approve_extension",
                "event_id": "ext-1",
                "occurred_at": at(0),
                "resolve_by": new_due,
            },
        )
        assert approved.status_code == 200, approved.text
        time.sleep(4.0)  # past the old deadline
        body = client.get(f"/v1/work-orders/{order_id}").json()
    assert "resolve_red" not in alerts(stack, order_id)
    moved = datetime.fromisoformat(body["work_order"]["due"]["resolve_by"])
    assert moved == datetime.fromisoformat(new_due)
    extended = next(e for e in body["timeline"] if e["event"] == "deadline_extended")
    assert datetime.fromisoformat(extended["detail"]["to"]) == moved


def test_an_extension_needs_to_say_how_long(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order("CARD-4")).json()["id"]
        refused = client.post(
            f"/v1/work-orders/{order_id}/events",
            json={"type": "approve_extension", "event_id": "e", "occurred_at": at(0)},
        )
    assert refused.status_code == 422
    assert "extend_working_days or resolve_by" in refused.text


def long_complaints(tmp_path: Path, without_2027: bool) -> Path:
    """mappings/ whose complaints have 40 working days: received in November, due in 2027."""
    copy = mappings_copy(tmp_path, {"deadlines/default.toml": ("complaint = 13", "complaint = 40")})
    if without_2027:
        (copy / "calendars" / "2027.toml").unlink()
    return copy


def test_a_deadline_in_a_year_the_calendar_does_not_know_is_flagged_loudly(
    make_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    mappings = long_complaints(tmp_path, without_2027=True)
    stack = make_stack(watch_interval=0.2, mappings_dir=mappings)
    late = order("CARD-5", category="complaint", received_at="2026-11-30T10:00:00+08:00")
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=late).json()["id"]
        wait_until(lambda: "calendar_unknown_year" in alerts(stack, order_id))
        entries = timeline(client, order_id)
    flagged = next(a for a in stack.hotline.alerts if a["alert"] == "calendar_unknown_year")
    assert flagged["detail"]["years"] == [2027] and flagged["level"] == "warning"
    assert deadlines_set(entries)["calendar_unknown_years"] == [2027]


def test_a_deadline_in_a_provisional_year_is_flagged_too(
    make_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    stack = make_stack(watch_interval=0.2, mappings_dir=long_complaints(tmp_path, False))
    late = order("CARD-7", category="complaint", received_at="2026-11-30T10:00:00+08:00")
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=late).json()["id"]
        wait_until(lambda: "calendar_provisional_year" in alerts(stack, order_id))
        body = client.get(f"/v1/work-orders/{order_id}").json()
    flagged = next(a for a in stack.hotline.alerts if a["alert"] == "calendar_provisional_year")
    assert flagged["detail"]["years"] == [2027] and flagged["level"] == "warning"
    assert "calendar_unknown_year" not in alerts(stack, order_id)
    # 40 working days from Mon 30 Nov 2026: 23 left in 2026, then 17 in 2027 past 元旦 (Fri 1 Jan)
    assert body["work_order"]["due"]["resolve_by"] == "2027-01-26T23:59:59+08:00"


def test_an_extension_in_working_days_skips_the_spring_festival(
    make_stack: Callable[..., Stack],
) -> None:
    extension = Script(steps=(("已签收", 0.05), ("申请延期", 0.05)), reasons={"申请延期": "春节"})
    stack = make_stack({"tax-12366": extension})
    consult = order("CARD-6", received_at="2026-02-10T09:00:00+08:00")  # due 2026-02-13
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=consult).json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "extension_requested")
        event = {"type": "approve_extension", "event_id": "ext-2", "occurred_at": at(0)}
        response = client.post(
            f"/v1/work-orders/{order_id}/events", json={**event, "extend_working_days": 3}
        )
        assert response.status_code == 200, response.text
        due = client.get(f"/v1/work-orders/{order_id}").json()["work_order"]["due"]
    # 14 Feb is a make-up working Saturday; 15–23 Feb is the Spring Festival holiday
    assert due["resolve_by"] == "2026-02-25T23:59:59+08:00"
