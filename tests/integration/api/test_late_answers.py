"""A late answer to a transfer must not undo what the agency said since."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from connectors.simulators.agency import Script
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until


def test_a_late_2xx_after_the_agency_returned_the_order_leaves_it_returned(
    make_stack: Callable[..., Stack],
) -> None:
    returns = Script(steps=(("已退回", 0.0),), reasons={"已退回": "非本单位职责"})
    stack = make_stack(scripts={"tax-12366": returns})
    tax = stack.agencies["tax-12366"]
    tax.answer_delay = 1.5  # the 退回 arrives while the transfer's answer is still on its way
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        order_id = client.post("/v1/work-orders", json=order()).json()["id"]
        wait_until(lambda: tax.updates_sent == 1, what="the agency's 退回")
        wait_until(
            lambda: any(
                (e["event"], e["party"]) == ("delivered", "tax-12366")
                for e in client.get(f"/v1/work-orders/{order_id}").json()["timeline"]
            ),
            what="the late answer recorded",
        )
        view = client.get(f"/v1/work-orders/{order_id}").json()
    assert tax.updates_refused == []
    assert view["status"] == "returned"
    moves = [e["detail"]["to"] for e in view["timeline"] if e["event"] == "status_applied"]
    assert moves[-1] == "returned" and "dispatched" not in moves[moves.index("returned") :]
