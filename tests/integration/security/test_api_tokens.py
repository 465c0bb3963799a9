"""API tokens and roles: the hotline submits, viewers read, nobody without a token."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx

from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

TOKENS = {name: secrets.token_urlsafe(32) for name in ("hotline", "admin", "viewer")}


def tokens() -> dict[str, dict[str, str]]:
    return {
        "gz-12345": {"role": "hotline", "token": TOKENS["hotline"]},
        "ops-li": {"role": "admin", "token": TOKENS["admin"]},
        "auditor-wang": {"role": "viewer", "token": TOKENS["viewer"]},
    }


def bearer(role: str) -> dict[str, str]:
    return {"authorization": f"Bearer {TOKENS[role]}"}


def test_each_role_gets_what_it_may_and_nothing_else(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(api_tokens=tokens())
    event = {"type": "supervise", "event_id": "s-1", "occurred_at": "2026-11-27T10:00:00+08:00"}
    with httpx.Client(base_url=stack.url) as client:
        anonymous = client.post("/v1/work-orders", json=order("TK-1"))
        forged = client.post(
            "/v1/work-orders", json=order("TK-1"), headers={"authorization": "Bearer x" * 3}
        )
        basic = client.post(
            "/v1/work-orders", json=order("TK-1"), headers={"authorization": "Basic abc"}
        )
        viewer_post = client.post("/v1/work-orders", json=order("TK-1"), headers=bearer("viewer"))
        created = client.post("/v1/work-orders", json=order("TK-1"), headers=bearer("hotline"))
        order_id = created.json()["id"]
        viewer_read = client.get(f"/v1/work-orders/{order_id}", headers=bearer("viewer"))
        anonymous_read = client.get(f"/v1/work-orders/{order_id}")
        read = f"/v1/work-orders/{order_id}"  # supervision follows the delivery:
        wait_until(
            lambda: client.get(read, headers=bearer("viewer")).json()["status"] != "received"
        )
        viewer_event = client.post(
            f"/v1/work-orders/{order_id}/events", json=event, headers=bearer("viewer")
        )
        admin_event = client.post(
            f"/v1/work-orders/{order_id}/events", json=event, headers=bearer("admin")
        )
        health = client.get("/healthz")
        keys = client.get("/v1/keys")
    for refused in (anonymous, forged, basic, anonymous_read):
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "unauthorized"
    for refused in (viewer_post, viewer_event):
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert created.status_code == 202 and viewer_read.status_code == 200
    assert admin_event.status_code == 200, admin_event.text
    assert health.status_code == 200 and keys.status_code == 200


def test_agencies_need_no_token_their_messages_are_signed(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(api_tokens=tokens())
    with httpx.Client(base_url=stack.url) as client:
        unsigned = client.post("/v1/inbound/tax-12366", json={"type": "status"})
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "invalid_signature", "not a token refusal"


def test_a_short_token_is_refused_at_start_up(make_stack: Callable[..., Stack]) -> None:
    try:
        make_stack(api_tokens={"x": {"role": "admin", "token": "short"}})
    except Exception as exc:  # pydantic refuses the settings before anything starts
        assert "at least 24" in str(exc)
    else:
        raise AssertionError("a 5-character token was accepted")
