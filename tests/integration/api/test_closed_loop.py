"""The closed loop under races and returns: assignments, 改派, 协办, closed orders (issue 15).

Each test is one of the failures issue 15 lists, tried against a real gateway, agencies and
hotline on loopback; the agency side is driven by hand (signed posts) where its timing or
its clock matters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.simulators.agency import Script
from tests.conftest import Stack
from tests.integration.api.helpers import order, signed_post, wait_until

QUIET = Script(steps=())  # the agencies answer transfers but send no updates of their own


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(scripts={"tax-12366": QUIET, "city-management": QUIET})


@pytest.fixture
def client(stack: Stack) -> httpx.Client:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def update(order_id: str, status: str, skew: float = 0.0, **more: Any) -> dict[str, Any]:
    """A status update stamped by an agency clock `skew` seconds off ours."""
    at = datetime.now(UTC) + timedelta(seconds=skew)
    return {
        "type": "status",
        "order_id": order_id,
        "status": status,
        "occurred_at": at.isoformat(),
        **more,
    }


def post(stack: Stack, client: httpx.Client, agency: str, body: dict[str, Any]) -> httpx.Response:
    return signed_post(client, agency, stack.agency_keys[agency], body, f"m-{time.monotonic_ns()}")


def view(client: httpx.Client, order_id: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/work-orders/{order_id}").json())


def event(client: httpx.Client, order_id: str, kind: str, **more: Any) -> httpx.Response:
    body = {
        "type": kind,
        "event_id": f"e-{time.monotonic_ns()}",
        "occurred_at": datetime.now(UTC).isoformat(),
        **more,
    }
    return client.post(f"/v1/work-orders/{order_id}/events", json=body)


def status_is(client: httpx.Client, order_id: str, status: str) -> None:
    wait_until(lambda: view(client, order_id)["status"] == status, what=status)


def assignment(found: dict[str, Any], agency: str) -> dict[str, Any]:
    mine = [a for a in found["assignments"] if a["agency"] == agency]
    return max(mine, key=lambda a: a["generation"])


@pytest.mark.parametrize("skew", [-2.0, -299.0, 299.0])
def test_a_lost_2xx_then_a_return_from_a_skewed_clock_leaves_the_order_returned(
    stack: Stack, client: httpx.Client, skew: float
) -> None:
    tax = stack.agencies["tax-12366"]
    tax.answer_delay = 1.5  # the transfer's 2xx is still on its way when the 退回 arrives
    order_id = client.post("/v1/work-orders", json=order()).json()["id"]
    wait_until(lambda: tax.payloads, what="the transfer reaching the agency")
    back = update(order_id, "已退回", skew, reason="非本单位职责", person="王五", unit="税源科")
    assert post(stack, client, "tax-12366", back).json()["result"] == "applied"
    wait_until(
        lambda: any(e["event"] == "delivered" for e in view(client, order_id)["timeline"]),
        what="the late 2xx recorded",
    )
    found = view(client, order_id)
    assert found["status"] == "returned"
    mine = assignment(found, "tax-12366")
    assert (mine["step"], mine["return_reason"]) == ("returned", "非本单位职责")
    assert (mine["actions"][-1]["person"], mine["actions"][-1]["unit"]) == ("王五", "税源科")
    wait_until(lambda: stack.hotline.last_status(order_id) == "returned", what="callback")
    told = stack.hotline.statuses[order_id]
    assert told == ["dispatched", "returned"]  # never dispatched again after the return
    health = client.get("/v1/admin/agencies").json()
    rows = health["agencies"] if isinstance(health, dict) else health
    assert next(r for r in rows if r["agency"] == "tax-12366")["returned"] == 1


@pytest.mark.slow
def test_after_a_reopen_the_agency_may_sign_before_the_resent_transfer_is_acknowledged(
    stack: Stack, client: httpx.Client
) -> None:
    tax = stack.agencies["tax-12366"]
    order_id = client.post("/v1/work-orders", json=order()).json()["id"]
    status_is(client, order_id, "dispatched")
    for word in ("已签收", "已答复"):
        assert post(stack, client, "tax-12366", update(order_id, word)).status_code == 200
    tax.answer_delay = 2.0  # the re-sent transfer's 2xx comes late
    assert event(client, order_id, "reopen", reason="市民不满意，重新办理").status_code == 200
    wait_until(lambda: len(tax.payloads) >= 3, what="the re-sent transfer")
    signed = post(stack, client, "tax-12366", update(order_id, "已签收", person="李四"))
    assert (signed.status_code, signed.json()["status"]) == (200, "signed")
    wait_until(lambda: len(view(client, order_id)["assignments"]) == 2, what="two generations")
    found = view(client, order_id)
    assert found["status"] == "signed"
    old, new = sorted(found["assignments"], key=lambda a: a["generation"])
    assert (old["step"], new["step"], new["generation"]) == ("superseded", "signed", 2)
    resent = [p for p in tax.payloads if p["type"] == "work_order.transfer"][-1]
    assert resent["assignment"] == {"generation": 2}


def test_an_assisting_agency_signs_replies_and_returns_its_part_whatever_the_lead_did(
    stack: Stack, client: httpx.Client
) -> None:
    shared = order(category="report", title="商户拒开发票", content="某商户拒开发票，市民举报。")
    order_id = client.post("/v1/work-orders", json=shared).json()["id"]
    status_is(client, order_id, "dispatched")
    for word in ("已签收", "办理中"):
        post(stack, client, "tax-12366", update(order_id, word, skew=120)).raise_for_status()
    late_sign = post(stack, client, "city-management", update(order_id, "accepted", skew=-200))
    assert (late_sign.status_code, late_sign.json()["result"]) == (200, "recorded")
    back = update(order_id, "rejected", reason="发票问题不属城管", unit="城管执法队")
    assert post(stack, client, "city-management", back).json()["result"] == "recorded"
    found = view(client, order_id)
    assert found["status"] == "in_progress"  # the assisting return leaves the order with the lead
    city = assignment(found, "city-management")
    assert (city["role"], city["step"], city["return_reason"]) == (
        "assisting",
        "returned",
        "发票问题不属城管",
    )
    events = [e["event"] for e in found["timeline"]]
    assert "assignment_returned" in events


@pytest.mark.parametrize("closing", [["cancel"], ["cancel", "archive"]])
def test_a_closed_order_refuses_updates_supplements_and_revisions(
    stack: Stack, client: httpx.Client, closing: list[str]
) -> None:
    tax = stack.agencies["tax-12366"]
    order_id = client.post("/v1/work-orders", json=order(flow_id="GZ-C")).json()["id"]
    status_is(client, order_id, "dispatched")
    for kind in closing:
        assert event(client, order_id, kind, reason="市民撤诉").status_code == 200
    sent = 1 + len(closing)  # the transfer, then each closing event
    wait_until(lambda: len(tax.payloads) == sent, what="the closing events delivered")
    supplement = event(client, order_id, "supplement", note="补充材料")
    assert (supplement.status_code, supplement.json()["error"]["code"]) == (409, "order_closed")
    revision = client.post("/v1/work-orders", json=order(flow_id="GZ-C", revision=2))
    assert (revision.status_code, revision.json()["error"]["code"]) == (409, "order_closed")
    late = post(stack, client, "tax-12366", update(order_id, "已签收"))
    assert (late.status_code, late.json()["error"]["code"]) == (409, "order_closed")
    time.sleep(0.5)
    found = view(client, order_id)
    refused = [e for e in found["timeline"] if e["event"] == "refused"]
    assert len(refused) >= 2  # the event and the agency's update, each on record
    assert all(a["step"] == "closed" for a in found["assignments"])
    assert len(tax.payloads) == sent  # nothing went out after the close


def test_a_returned_order_is_reassigned_and_the_old_agency_is_answered_superseded(
    stack: Stack, client: httpx.Client
) -> None:
    tax, city = stack.agencies["tax-12366"], stack.agencies["city-management"]
    order_id = client.post("/v1/work-orders", json=order()).json()["id"]
    status_is(client, order_id, "dispatched")
    post(
        stack, client, "tax-12366", update(order_id, "已退回", reason="属城管职责")
    ).raise_for_status()
    moved = event(
        client,
        order_id,
        "reassign",
        agency="city-management",
        reason="退回理由成立，改派城管",
        note="请核查占道经营",
    )
    assert (moved.status_code, moved.json()["status"]) == (200, "reassigned")
    wait_until(lambda: city.payloads, what="the transfer to city management")
    transfer = city.payloads[0]
    assert (transfer["type"], transfer["instructions"]) == ("work_order.transfer", "请核查占道经营")
    assert transfer["assignment"] == {"generation": 2}
    status_is(client, order_id, "dispatched")
    wait_until(lambda: any(p.get("event") == "reassign" for p in tax.payloads), what="tax told")
    late = post(stack, client, "tax-12366", update(order_id, "已答复", result="已处理"))
    assert (late.status_code, late.json()["error"]["code"]) == (409, "assignment_superseded")
    found = view(client, order_id)
    assert found["lead_agency"] == "city-management"
    tax_part = assignment(found, "tax-12366")
    assert tax_part["step"] == "returned" and tax_part["generation"] == 1
    assert assignment(found, "city-management")["step"] == "dispatched"
    assert (
        post(stack, client, "city-management", update(order_id, "accepted")).json()["status"]
        == "signed"
    )


def test_reassigning_a_working_order_withdraws_it_from_the_old_agency(
    stack: Stack, client: httpx.Client
) -> None:
    order_id = client.post("/v1/work-orders", json=order()).json()["id"]
    status_is(client, order_id, "dispatched")
    post(stack, client, "tax-12366", update(order_id, "已签收")).raise_for_status()
    moved = event(client, order_id, "reassign", agency="city-management", reason="研判后改派")
    assert moved.status_code == 200
    status_is(client, order_id, "dispatched")
    found = view(client, order_id)
    old = assignment(found, "tax-12366")
    assert old["step"] == "superseded" and old["released_at"] is not None  # 首派负责 until then
    late = post(stack, client, "tax-12366", update(order_id, "办理中"))
    assert late.json()["error"]["code"] == "assignment_superseded"


def test_an_out_of_order_update_is_recorded_and_changes_nothing(
    stack: Stack, client: httpx.Client
) -> None:
    order_id = client.post("/v1/work-orders", json=order()).json()["id"]
    status_is(client, order_id, "dispatched")
    post(stack, client, "tax-12366", update(order_id, "已签收")).raise_for_status()
    post(stack, client, "tax-12366", update(order_id, "办理中", skew=-250)).raise_for_status()
    early = post(stack, client, "tax-12366", update(order_id, "已签收", skew=250))
    assert (early.status_code, early.json()["result"]) == (200, "outdated")
    assert view(client, order_id)["status"] == "in_progress"


def test_a_new_revision_naming_another_lead_points_to_the_reassign_event(
    client: httpx.Client,
) -> None:
    order_id = client.post("/v1/work-orders", json=order(flow_id="GZ-R")).json()["id"]
    status_is(client, order_id, "dispatched")
    again = client.post(
        "/v1/work-orders", json=order(flow_id="GZ-R", revision=2, route_to=["city-management"])
    )
    assert again.status_code == 409 and "reassign" in again.json()["error"]["message"]


def test_a_shared_order_collects_both_agencies_replies_for_the_hotline(
    stack: Stack, client: httpx.Client
) -> None:
    shared = order(category="report", title="商户拒开发票", content="某商户拒开发票，市民举报。")
    order_id = client.post("/v1/work-orders", json=shared).json()["id"]
    status_is(client, order_id, "dispatched")
    city_reply = update(order_id, "replied", result="已核查门店经营情况", unit="城管执法队")
    assert post(stack, client, "city-management", update(order_id, "accepted")).status_code == 200
    assert post(stack, client, "city-management", city_reply).json()["result"] == "recorded"
    for word in ("已签收", "已答复"):
        post(stack, client, "tax-12366", update(order_id, word, result="已责令补开发票"))
    status_is(client, order_id, "replied")
    found = view(client, order_id)
    parts = {(a["agency"], a["role"]): a["step"] for a in found["assignments"]}
    assert parts == {("tax-12366", "lead"): "replied", ("city-management", "assisting"): "replied"}
    wait_until(lambda: stack.hotline.last_status(order_id) == "replied", what="the callbacks")
    told = stack.hotline.statuses[order_id]
    assert told.count("dispatched") >= 2  # the assisting agency's sign and reply, status kept
    assert told[-1] == "replied"
