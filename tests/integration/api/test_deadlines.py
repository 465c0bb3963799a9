"""Intake fills the deadlines the hotline left open, from the jurisdiction's policy."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import Stack
from tests.integration.api.helpers import deadlines_set, order


def test_a_complaint_before_the_spring_festival_is_due_after_thirteen_working_days(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    complaint = order(
        "GZ-D1",
        category="complaint",
        title="个税申报系统故障投诉",
        content="个税申报系统连续两天无法登录。",
        received_at="2026-02-13T16:30:00+08:00",
    )
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=complaint).json()["id"]
        body = client.get(f"/v1/work-orders/{order_id}").json()
        revised = {**complaint, "revision": 2, "content": "补充：今天仍无法登录。"}
        client.post("/v1/work-orders", json=revised).raise_for_status()
        after = client.get(f"/v1/work-orders/{order_id}").json()
    due = body["work_order"]["due"]
    assert due["resolve_by"] == "2026-03-10T23:59:59+08:00"
    assert due["acknowledge_by"] == "2026-02-13T18:30:00+08:00"
    entry = deadlines_set(body["timeline"])
    assert entry["policy"] == "default" and entry["working_days"] == 13
    assert after["work_order"]["due"] == due, "a supplement keeps the deadlines"


def test_jiangsu_answers_consults_within_one_working_day(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    consult = order(
        "JS-D1",
        location={"address": "南京市玄武区", "division_code": "320102"},
        received_at="2026-02-13T09:00:00+08:00",
    )
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=consult).json()["id"]
        due = client.get(f"/v1/work-orders/{order_id}").json()["work_order"]["due"]
    assert due["resolve_by"] == "2026-02-14T23:59:59+08:00"  # the make-up Saturday counts


def test_deadlines_the_hotline_gives_are_kept(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    given = order("GZ-D2", due={"resolve_by": "2026-12-01T18:00:00+08:00"})
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=given).json()["id"]
        due = client.get(f"/v1/work-orders/{order_id}").json()["work_order"]["due"]
    assert due["resolve_by"] == "2026-12-01T18:00:00+08:00"
