"""Hotline events through the state machine, forwarded to the agency working on the order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.simulators.agency import Script
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

FULL = Script(steps=(("已签收", 0.0), ("办理中", 0.0), ("已办结", 0.0)))


def event(kind: str, event_id: str = "e-1", **more: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": event_id, "occurred_at": "2026-11-24T10:00:00+08:00", **more}


def status(client: httpx.Client, order_id: str) -> str:
    return str(client.get(f"/v1/work-orders/{order_id}").json()["status"])


@pytest.fixture
def client(make_stack: Callable[..., Stack]) -> Any:
    stack = make_stack()
    with httpx.Client(base_url=stack.url) as client:
        client.stack = stack  # type: ignore[attr-defined]
        yield client


def dispatched(client: httpx.Client) -> str:
    order_id = str(client.post("/v1/work-orders", json=order()).json()["id"])
    wait_until(lambda: status(client, order_id) == "dispatched", what="dispatched")
    return order_id


def test_supervision_moves_the_order_and_reaches_the_agency(client: httpx.Client) -> None:
    order_id = dispatched(client)
    response = client.post(f"/v1/work-orders/{order_id}/events", json=event("supervise"))
    assert response.json() == {"result": "applied", "order_id": order_id, "status": "supervised"}
    tax = client.stack.agencies["tax-12366"]  # type: ignore[attr-defined]
    forwarded = wait_until(
        lambda: [p for p in tax.payloads if p["type"] == "work_order.event"], what="event"
    )
    assert forwarded[0]["event"] == "supervise" and forwarded[0]["status"] == "supervised"


def test_a_cancel_needs_a_reason(client: httpx.Client) -> None:
    order_id = dispatched(client)
    refused = client.post(f"/v1/work-orders/{order_id}/events", json=event("cancel"))
    assert refused.status_code == 400
    cancelled = client.post(
        f"/v1/work-orders/{order_id}/events", json=event("cancel", "e-2", reason="市民撤诉")
    )
    assert cancelled.json()["status"] == "cancelled"


def test_a_revisit_before_resolution_is_illegal(client: httpx.Client) -> None:
    order_id = dispatched(client)
    response = client.post(
        f"/v1/work-orders/{order_id}/events", json=event("revisit", satisfaction=5)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_transition"
    assert status(client, order_id) == "dispatched"


def test_a_repeated_event_id_is_applied_once(client: httpx.Client) -> None:
    order_id = dispatched(client)
    first = client.post(f"/v1/work-orders/{order_id}/events", json=event("supervise"))
    again = client.post(f"/v1/work-orders/{order_id}/events", json=event("supervise"))
    assert (first.json()["result"], again.json()["result"]) == ("applied", "duplicate")


def test_a_satisfaction_score_outside_one_to_five_is_refused(client: httpx.Client) -> None:
    order_id = dispatched(client)
    response = client.post(
        f"/v1/work-orders/{order_id}/events", json=event("revisit", satisfaction=9)
    )
    assert response.status_code == 422


def test_a_newer_revision_is_sent_to_the_agency_as_a_supplement(client: httpx.Client) -> None:
    order_id = dispatched(client)
    revised = order(revision=2, content="补充：市民希望电话回复。")
    response = client.post("/v1/work-orders", json=revised)
    assert response.status_code == 202 and response.json()["id"] == order_id
    tax = client.stack.agencies["tax-12366"]  # type: ignore[attr-defined]
    supplements = wait_until(
        lambda: [p for p in tax.payloads if p.get("event") == "supplement"], what="supplement"
    )
    assert supplements[0]["work_order"]["nr"] == "补充：市民希望电话回复。"


def test_the_full_loop_ends_revisited_and_archived(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(scripts={"tax-12366": FULL})
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order()).json()["id"]
        wait_until(lambda: status(client, order_id) == "resolved", what="resolved")
        url = f"/v1/work-orders/{order_id}/events"
        client.post(url, json=event("revisit", satisfaction=4)).raise_for_status()
        client.post(url, json=event("archive", "e-2")).raise_for_status()
        assert status(client, order_id) == "archived"
