"""12345 ↔ 12360 customs over real SOAP: cases out, replies synced back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until


def customs_order(flow_id: str = "GZ-C1") -> dict[str, Any]:
    return order(
        flow_id,
        category="consult",
        title="入境携带物品限额咨询",
        content="市民咨询从香港入境携带化妆品是否需要向海关申报，限额是多少。",
    )


def test_a_customs_consult_is_replied_and_the_reply_reaches_the_hotline(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    assert stack.customs is not None
    with httpx.Client(base_url=stack.url) as client:
        accepted = client.post("/v1/work-orders", json=customs_order())
        assert accepted.json()["lead_agency"] == "customs-12360", accepted.text
        order_id = accepted.json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "resolved", what="reply")
    case = next(iter(stack.customs.cases.values()))
    assert (case["GDBH"], case["SQLX"], case["BT"]) == ("GZ-C1", "ZX", "入境携带物品限额咨询")
    assert stack.hotline.statuses[order_id] == ["dispatched", "signed", "resolved"]
    assert stack.customs.refused == [] and stack.customs.answers_failed == []


def test_supervision_reaches_customs_as_a_notice(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    assert stack.customs is not None
    stack.customs.delay = 30  # customs sits on the case, so the hotline supervises it
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=customs_order()).json()["id"]
        wait_until(
            lambda: client.get(f"/v1/work-orders/{order_id}").json()["status"] == "dispatched",
            what="dispatched",
        )
        event = {
            "type": "supervise",
            "event_id": "s1",
            "reason": "超过答复时限",
            "occurred_at": "2026-11-24T12:00:00+08:00",
        }
        client.post(f"/v1/work-orders/{order_id}/events", json=event).raise_for_status()
        wait_until(lambda: stack.customs.notices, what="notice")
    assert stack.customs.notices[0]["SJLX"] == "DB"
    assert stack.customs.notices[0]["NR"] == "超过答复时限"
