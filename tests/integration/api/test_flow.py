"""The whole loop over real HTTP: intake → signed delivery → agency updates → hotline callbacks."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from connectors.simulators.agency import Script
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

TAX_SCRIPT = Script(steps=(("已签收", 0.0), ("办理中", 0.0), ("已办结", 0.0)), result="已答复")


def status_of(client: httpx.Client, order_id: str) -> str:
    return str(client.get(f"/v1/work-orders/{order_id}").json()["status"])


def test_an_order_reaches_the_agency_and_its_updates_reach_the_hotline(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(scripts={"tax-12366": TAX_SCRIPT})
    with httpx.Client(base_url=stack.url) as client:
        accepted = client.post("/v1/work-orders", json=order())
        assert accepted.status_code == 202, accepted.text
        order_id = accepted.json()["id"]
        assert accepted.json()["lead_agency"] == "tax-12366"
        wait_until(lambda: status_of(client, order_id) == "resolved", what="resolved")
        wait_until(lambda: stack.hotline.last_status(order_id) == "resolved", what="callback")
        view = client.get(f"/v1/work-orders/{order_id}").json()

    tax = stack.agencies["tax-12366"]
    assert tax.unique_deliveries() == 1 and tax.refused == 0
    assert stack.hotline.refused == 0
    assert stack.hotline.statuses[order_id] == ["dispatched", "signed", "in_progress", "resolved"]
    events = [entry["event"] for entry in view["timeline"]]
    for step in ("received", "delivered", "status_applied"):
        assert step in events, step
    for older in ("routed", "mapped", "signed", "sent", "acknowledged"):  # now inside those
        assert older not in events, older
    transfer = next(h for h in view["handoffs"] if h["kind"] == "transfer")
    assert transfer["state"] == "delivered" and transfer["agency_ref"] == "SW-000001"


def test_the_agency_receives_its_own_field_names_and_codes(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    tax = stack.agencies["tax-12366"]
    with httpx.Client(base_url=stack.url) as client:
        client.post("/v1/work-orders", json=order()).raise_for_status()
        wait_until(lambda: tax.payloads, what="delivery")
    payload = tax.payloads[0]["work_order"]
    assert payload["gdbh"] == "GZ-1" and payload["sqlx"] == "ZX" and payload["ly"] == "12345"
    assert payload["dz"] == {"xx": "广州市越秀区", "xzqh": "440104"}
    assert payload["lxr"] == {"xm": "李先生", "dh": "13900001111", "bm": False}
