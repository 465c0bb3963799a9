"""119/120: urgent handoffs on the emergency lane, the alarm-exchange message set, escalation."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.simulators.agency import Script
from tests.conftest import Stack
from tests.integration.api.helpers import emergency, mappings_copy, wait_until


def _timeline(client: httpx.Client, order_id: str) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = client.get(f"/v1/work-orders/{order_id}").json()["timeline"]
    return body


def test_a_smoke_report_reaches_119_signed_and_closes_through_the_message_set(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    fire = stack.agencies["fire-119"]
    with httpx.Client(base_url=stack.url) as client:
        created = client.post("/v1/work-orders", json=emergency("EM-1"))
        assert created.status_code == 202, created.text
        order_id = created.json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "resolved", what="closed")
        body = client.get(f"/v1/work-orders/{order_id}").json()
    sent = fire.payloads[0]
    incident = sent["work_order"]
    assert sent["role"] == "lead" and sent["routing"]["rule"] == "emergency-fire"
    assert incident["incident"]["type"] == "fire.smoke_report"
    assert incident["incident"]["caller_said"].startswith("来电人称三楼楼道冒烟")
    assert incident["location"] == {
        "address": "广州市越秀区东风中路100号3楼",
        "division_code": "440104",
        "longitude": 113.2665,
        "latitude": 23.1322,
        "datum": "GCJ02",
    }
    assert incident["callback"]["number"] == "13800138000"
    assert incident["hotline"]["order_id"] == order_id
    assert fire.refused == 0, "119 verified our signature"
    assert stack.hotline.statuses[order_id] == [
        "dispatched",
        "signed",
        "in_progress",
        "in_progress",  # 已到场, recorded as progress
        "resolved",
    ]
    events = [e["event"] for e in body["timeline"]]
    assert "progress" in events
    received = next(e for e in body["timeline"] if e["event"] == "received")
    (transfer,) = received["detail"]["handoffs"]  # the transfer it queued
    assert (transfer["party"], transfer["lane"]) == ("fire-119", "emergency")
    assert body["work_order"]["partner_ids"]["fire-119"].startswith("F119-")
    assert not [a for a in stack.hotline.alerts_for(order_id) if a.startswith("emergency")]


@pytest.mark.slow
def test_an_emergency_not_acknowledged_in_time_is_escalated_once(
    make_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    mappings = mappings_copy(
        tmp_path,
        {"agencies/fire-119.toml": ("acknowledge_seconds = 60", "acknowledge_seconds = 1")},
    )
    slow = Script(steps=(("accepted", 3.0), ("closed", 0.05)), result="误报，无火情。")
    stack = make_stack({"fire-119": slow}, mappings_dir=mappings, watch_interval=0.2)
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=emergency("EM-2")).json()["id"]
        wait_until(lambda: "emergency_unacknowledged" in stack.hotline.alerts_for(order_id))
        wait_until(lambda: stack.hotline.last_status(order_id) == "resolved", what="closed")
        timeline = _timeline(client, order_id)
    alert = next(a for a in stack.hotline.alerts if a["order_id"] == order_id)
    assert alert["level"] == "critical" and alert["agency"] == "fire-119"
    assert alert["flow_id"] == "EM-2"
    channel = [a["alert"] for a in stack.hotline.channel_alerts if a["order_id"] == order_id]
    assert channel == ["emergency_unacknowledged"], "the alert channel heard it too"
    raised = [e for e in timeline if e["event"] == "alert_raised"]
    emergency_alerts = [e for e in raised if e["detail"]["alert"] == "emergency_unacknowledged"]
    assert len(emergency_alerts) == 1, "escalated once, and on record"


@pytest.mark.slow
def test_an_answer_in_time_settles_the_acknowledgement_deadline(
    make_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    mappings = mappings_copy(
        tmp_path,
        {"agencies/ambulance-120.toml": ("acknowledge_seconds = 60", "acknowledge_seconds = 2")},
    )
    refusal = Script(steps=(("rejected", 0.05),))
    stack = make_stack({"ambulance-120": refusal}, mappings_dir=mappings, watch_interval=0.2)
    collapsed = emergency(
        "EM-3", matter_code="EM-COLLAPSE", title="老人倒地", content="公园内一名老人晕倒在地。"
    )
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=collapsed).json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "returned", what="rejected")
        time.sleep(3.0)  # past the 2 s deadline: a rejection is an answer, nothing escalates
        timeline = _timeline(client, order_id)
    assert stack.agencies["ambulance-120"].payloads[0]["routing"]["rule"] == "emergency-medical"
    returned = next(e for e in timeline if e.get("detail", {}).get("to") == "returned")
    assert returned["detail"]["reason"] == "不属于本单位职责范围"
    assert "emergency_unacknowledged" not in stack.hotline.alerts_for(order_id)


def test_an_emergency_handoff_that_cannot_be_delivered_is_escalated_not_dropped(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    fire = stack.agencies["fire-119"]
    fire.fail_next, fire.fail_status = 100, 400  # a permanent refusal: no retry helps
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=emergency("EM-4")).json()["id"]
        wait_until(lambda: "emergency_undeliverable" in stack.hotline.alerts_for(order_id))
        timeline = _timeline(client, order_id)
    events = [e["event"] for e in timeline]
    assert events.index("dead_lettered") < events.index("alert_raised")
    alert = next(a for a in stack.hotline.alerts if a["alert"] == "emergency_undeliverable")
    assert "HTTP 400" in alert["detail"]["error"]
    channel = [a["alert"] for a in stack.hotline.channel_alerts]
    assert "emergency_undeliverable" in channel
