"""Bad input gets a typed 4xx, is put on record when it concerns an order, and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.bootstrap import open_sql_store
from gateway.crypto.signing import generate_ed25519_key
from gateway.store.schema import audit_log, work_orders
from tests.conftest import Stack
from tests.integration.api.helpers import order, signed_post, wait_until


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()


@pytest.fixture
def client(stack: Stack) -> httpx.Client:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def count(stack: Stack, table: Any, *where: Any) -> int:
    store = open_sql_store(stack.settings.database_url)
    try:
        return int(
            store.run_sync(
                lambda uow: uow.orders.conn.execute(  # type: ignore[attr-defined]
                    select(func.count()).select_from(table).where(*where)
                ).scalar_one()
            )
        )
    finally:
        store.engine.dispose()


def error_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def dispatched(client: httpx.Client) -> str:
    order_id = str(client.post("/v1/work-orders", json=order()).json()["id"])
    wait_until(
        lambda: client.get(f"/v1/work-orders/{order_id}").json()["status"] == "dispatched",
        what="dispatched",
    )
    return order_id


def update(order_id: str, status: str, **more: Any) -> dict[str, Any]:
    return {
        "type": "status",
        "order_id": order_id,
        "status": status,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        **more,
    }


def test_malformed_json_is_a_400_and_stores_nothing(stack: Stack, client: httpx.Client) -> None:
    response = client.post(
        "/v1/work-orders", content=b'{"flow_id": ', headers={"content-type": "application/json"}
    )
    assert (response.status_code, error_of(response)) == (400, "malformed_json")
    assert count(stack, work_orders) == 0


def test_a_missing_field_is_a_422_naming_the_field(stack: Stack, client: httpx.Client) -> None:
    incomplete = order()
    del incomplete["title"]
    response = client.post("/v1/work-orders", json=incomplete)
    assert (response.status_code, error_of(response)) == (422, "validation_error")
    assert response.json()["error"]["details"][0]["loc"] == "body.title"
    assert count(stack, work_orders) == 0


def test_an_order_no_rule_routes_is_a_422(stack: Stack, client: httpx.Client) -> None:
    response = client.post(
        "/v1/work-orders", json=order(title="问路", content="请问市图书馆几点开门")
    )
    assert (response.status_code, error_of(response)) == (422, "no_route")
    assert count(stack, work_orders) == 0


def test_routing_to_an_unknown_agency_is_a_404_with_a_suggestion(client: httpx.Client) -> None:
    response = client.post("/v1/work-orders", json=order(route_to=["tax-1236"]))
    assert (response.status_code, error_of(response)) == (404, "unknown_agency")
    assert "did you mean 'tax-12366'" in response.json()["error"]["message"]


def test_a_message_for_an_unknown_agency_is_a_404(stack: Stack, client: httpx.Client) -> None:
    key = stack.agency_keys["tax-12366"]
    response = signed_post(client, "tax-99999", key, update("wo_x", "已签收"), "m-1")
    assert (response.status_code, error_of(response)) == (404, "unknown_agency")


def test_a_ten_megabyte_body_is_a_413(stack: Stack, client: httpx.Client) -> None:
    response = client.post(
        "/v1/work-orders", content=b"x" * 10_000_000, headers={"content-type": "application/json"}
    )
    assert (response.status_code, error_of(response)) == (413, "payload_too_large")
    assert count(stack, work_orders) == 0


def test_a_forged_signature_is_a_401_counted_not_audited_and_not_applied(
    stack: Stack,
    client: httpx.Client,
) -> None:
    order_id = dispatched(client)
    forged = signed_post(
        client, "tax-12366", generate_ed25519_key(), update(order_id, "已签收"), "m-1"
    )
    assert (forged.status_code, error_of(forged)) == (401, "invalid_signature")
    assert client.get(f"/v1/work-orders/{order_id}").json()["status"] == "dispatched"
    assert count(stack, audit_log, audit_log.c.event == "refused") == 0, "unauthenticated"
    metric = 'lianxin_unauthenticated_refusals_total{code="invalid_signature",party="tax-12366"}'
    assert f"{metric} 1.0" in client.get("/metrics").text


def test_a_stale_signature_is_a_401(stack: Stack, client: httpx.Client) -> None:
    order_id = dispatched(client)
    old = int(time.time()) - 600
    response = signed_post(
        client,
        "tax-12366",
        stack.agency_keys["tax-12366"],
        update(order_id, "已签收"),
        "m-1",
        timestamp=old,
    )
    assert (response.status_code, error_of(response)) == (401, "invalid_signature")
    assert client.get(f"/v1/work-orders/{order_id}").json()["status"] == "dispatched"


def test_an_illegal_transition_is_a_409_and_audited(stack: Stack, client: httpx.Client) -> None:
    order_id = dispatched(client)
    key = stack.agency_keys["tax-12366"]
    response = signed_post(client, "tax-12366", key, update(order_id, "已办结"), "m-1")
    assert (response.status_code, error_of(response)) == (409, "illegal_transition")
    assert client.get(f"/v1/work-orders/{order_id}").json()["status"] == "dispatched"
    refusals = [
        e
        for e in client.get(f"/v1/work-orders/{order_id}").json()["timeline"]
        if e["event"] == "refused"
    ]
    assert len(refusals) == 1 and refusals[0]["detail"]["code"] == "illegal_transition"


def test_a_return_without_reason_is_refused(stack: Stack, client: httpx.Client) -> None:
    order_id = dispatched(client)
    key = stack.agency_keys["tax-12366"]
    response = signed_post(client, "tax-12366", key, update(order_id, "已退回"), "m-1")
    assert (response.status_code, error_of(response)) == (400, "invalid_input")
    returned = signed_post(
        client, "tax-12366", key, update(order_id, "已退回", reason="非本单位职责"), "m-2"
    )
    assert returned.json()["status"] == "returned"


def test_a_repeated_message_id_is_acknowledged_but_applied_once(
    stack: Stack,
    client: httpx.Client,
) -> None:
    order_id = dispatched(client)
    key = stack.agency_keys["tax-12366"]
    first = signed_post(client, "tax-12366", key, update(order_id, "已签收"), "m-1")
    again = signed_post(client, "tax-12366", key, update(order_id, "已签收"), "m-1")
    assert (first.json()["result"], again.json()["result"]) == ("applied", "duplicate")
    assert (
        count(
            stack,
            audit_log,
            audit_log.c.event == "status_applied",
            audit_log.c.order_id == order_id,
        )
        == 2
    )  # dispatched + signed, once each


def test_the_agency_clock_decides_nothing(stack: Stack, client: httpx.Client) -> None:
    order_id = dispatched(client)
    key = stack.agency_keys["tax-12366"]
    signed_post(client, "tax-12366", key, update(order_id, "已签收"), "m-1").raise_for_status()
    older = update(order_id, "办理中", occurred_at="2026-01-01T00:00:00+08:00")
    response = signed_post(client, "tax-12366", key, older, "m-2")
    assert (response.status_code, response.json()["status"]) == (200, "in_progress")


def test_another_agency_cannot_update_an_order_not_handed_to_it(
    stack: Stack,
    client: httpx.Client,
) -> None:
    order_id = dispatched(client)
    key = stack.agency_keys["city-management"]
    response = signed_post(client, "city-management", key, update(order_id, "accepted"), "m-1")
    assert (response.status_code, error_of(response)) == (403, "not_addressed")


def test_intake_is_idempotent_on_flow_id_and_revision(stack: Stack, client: httpx.Client) -> None:
    first = client.post("/v1/work-orders", json=order())
    again = client.post("/v1/work-orders", json=order())
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False
    assert count(stack, work_orders) == 1


def test_an_older_revision_is_a_409(client: httpx.Client) -> None:
    client.post("/v1/work-orders", json=order(revision=3)).raise_for_status()
    response = client.post("/v1/work-orders", json=order(revision=2))
    assert (response.status_code, error_of(response)) == (409, "revision_conflict")


def test_an_unknown_order_is_a_404(client: httpx.Client) -> None:
    response = client.get("/v1/work-orders/wo_nope")
    assert (response.status_code, error_of(response)) == (404, "unknown_order")
