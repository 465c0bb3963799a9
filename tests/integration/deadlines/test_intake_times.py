"""Intake counts days in Beijing time, and refuses an order received in the future."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Stack
from tests.integration.api.helpers import order


def test_an_order_taken_at_07_00_beijing_and_sent_in_utc_counts_from_the_beijing_day(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    early = order("TZ-1", received_at="2026-11-30T23:00:00Z")  # Tue 1 Dec, 07:00 in Beijing
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=early).json()["id"]
        due = client.get(f"/v1/work-orders/{order_id}").json()["work_order"]["due"]
    # a consult: 3 working days after Tuesday 1 December (Monday 30 November in UTC)
    assert due["resolve_by"] == "2026-12-04T23:59:59+08:00"
    assert due["acknowledge_by"] == "2026-12-01T09:00:00+08:00"


def test_an_order_received_in_the_future_is_refused_with_a_typed_422_and_not_stored(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    future = (datetime.now(UTC) + timedelta(days=62)).isoformat()
    with httpx.Client(base_url=stack.url) as client:
        refused = client.post("/v1/work-orders", json=order("TZ-2", received_at=future))
        accepted = client.post("/v1/work-orders", json=order("TZ-2"))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "received_in_future"
    assert "at most 300 s of clock skew" in error["message"]
    assert (accepted.status_code, accepted.json()["created"]) == (202, True)


def test_a_received_at_within_the_clock_skew_tolerance_is_accepted(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    skewed = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    with httpx.Client(base_url=stack.url) as client:
        answer = client.post("/v1/work-orders", json=order("TZ-3", received_at=skewed))
    assert answer.status_code == 202, answer.text
