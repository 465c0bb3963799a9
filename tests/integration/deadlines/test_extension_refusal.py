"""延期: the hotline refuses an extension (deadline unchanged) or approves it (deadline moves)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.simulators.agency import Script
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

ASKS_FOR_MORE_TIME = Script(
    steps=(("已签收", 0.05), ("申请延期", 0.05)), reasons={"申请延期": "需要会同住建部门现场勘查"}
)
RECEIVED = "2026-11-30T09:00:00+08:00"  # a consult: due 3 working days later
DUE = "2026-12-03T23:59:59+08:00"


def now() -> str:
    return datetime.now(UTC).isoformat()


def asking(make_stack: Callable[..., Stack], flow_id: str) -> tuple[Stack, httpx.Client, str]:
    """A stack and an order whose agency has asked for an extension."""
    stack = make_stack({"tax-12366": ASKS_FOR_MORE_TIME})
    client = httpx.Client(base_url=stack.url)
    order_id = client.post("/v1/work-orders", json=order(flow_id, received_at=RECEIVED)).json()[
        "id"
    ]
    wait_until(lambda: stack.hotline.last_status(order_id) == "extension_requested")
    return stack, client, order_id


def events_to(stack: Stack, order_id: str, kind: str) -> list[dict[str, Any]]:
    return [
        p
        for p in stack.agencies["tax-12366"].payloads
        if p.get("order_id") == order_id and p.get("event") == kind
    ]


@pytest.mark.parametrize(
    ("event", "status", "resolve_by"),
    [
        ({"type": "refuse_extension", "reason": "理由不充分，请按期办结"}, "in_progress", DUE),
        (
            {"type": "approve_extension", "extend_working_days": 2},
            "extension_approved",
            "2026-12-07T23:59:59+08:00",
        ),
    ],
    ids=["refused: the deadline stays", "approved: the deadline moves"],
)
def test_only_an_approved_extension_moves_the_deadline(
    make_stack: Callable[..., Stack], event: dict[str, Any], status: str, resolve_by: str
) -> None:
    stack, client, order_id = asking(make_stack, f"EXT-{event['type']}")
    with closing(client):
        answer = client.post(
            f"/v1/work-orders/{order_id}/events",
            json={**event, "event_id": "ext-1", "occurred_at": now()},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == status
        wait_until(lambda: events_to(stack, order_id, event["type"]), what="the agency is told")
        body = client.get(f"/v1/work-orders/{order_id}").json()
    assert body["work_order"]["status"] == status
    assert body["work_order"]["due"]["resolve_by"] == resolve_by


def test_a_refusal_puts_its_reason_on_record_and_tells_the_agency(
    make_stack: Callable[..., Stack],
) -> None:
    stack, client, order_id = asking(make_stack, "EXT-R1")
    reason = "理由不充分，请按期办结"
    refusal = {
        "type": "refuse_extension",
        "event_id": "r-1",
        "occurred_at": now(),
        "reason": reason,
    }
    with closing(client):
        assert client.post(f"/v1/work-orders/{order_id}/events", json=refusal).status_code == 200
        told = wait_until(lambda: events_to(stack, order_id, "refuse_extension"))
        timeline = client.get(f"/v1/work-orders/{order_id}").json()["timeline"]
    refused = next(e for e in timeline if e["event"] == "extension_refused")
    assert refused["detail"]["reason"] == reason and refused["detail"]["resolve_by"] == DUE
    moved = next(e for e in timeline if e["detail"].get("event") == "refuse_extension")
    assert (moved["detail"]["from"], moved["detail"]["to"]) == (
        "extension_requested",
        "in_progress",
    )
    assert told[0]["reason"] == reason and told[0]["status"] == "in_progress"
    assert not any(e["event"] == "deadline_extended" for e in timeline)


def test_a_refusal_needs_a_reason(make_stack: Callable[..., Stack]) -> None:
    _, client, order_id = asking(make_stack, "EXT-R2")
    with closing(client):
        answer = client.post(
            f"/v1/work-orders/{order_id}/events",
            json={"type": "refuse_extension", "event_id": "r-2", "occurred_at": now()},
        )
    assert answer.status_code == 422
    assert "needs the refusal's reason" in answer.text


def test_nothing_to_refuse_when_no_extension_was_asked(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack({"tax-12366": Script(steps=(("已签收", 0.05),))})
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order("EXT-R3")).json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "signed")
        answer = client.post(
            f"/v1/work-orders/{order_id}/events",
            json={
                "type": "refuse_extension",
                "event_id": "r-3",
                "occurred_at": now(),
                "reason": "不予批准",
            },
        )
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "illegal_transition"


def test_the_openapi_document_lists_the_refusal_event(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    with httpx.Client(base_url=stack.url) as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "refuse_extension" in schemas["HotlineEvent"]["properties"]["type"]["enum"]
