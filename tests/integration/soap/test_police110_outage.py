"""110 down for a while: handoffs queue, then go out in order per order, none lost, none twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until

CASES = 8


@pytest.mark.slow  # left out of the fast tier (README, "Tests")
def test_an_outage_delays_but_never_reorders_loses_or_doubles(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    police = stack.police
    assert police is not None

    async def push_all() -> list[Any]:
        return [
            await police.push_case(f"J2026112400{n:04d}", "物业纠纷，非警情", "9106", "物业纠纷")
            for n in range(CASES)
        ]

    pushed = asyncio.run(push_all())
    order_ids = [result.ORDERID for result in pushed]
    police.go_down(2.0)
    with httpx.Client(base_url=stack.url) as client:
        for n, order_id in enumerate(order_ids):
            wait_until(
                lambda oid=order_id: (
                    client.get(f"/v1/work-orders/{oid}").json()["status"] == "dispatched"
                ),
                what="dispatched",
            )
            for step, (kind, extra) in enumerate(
                (
                    ("accept", {"flow_id": f"GZ-IN-{n:04d}"}),
                    ("feedback", {"note": "已转物业主管部门处理"}),
                    ("resolve", {}),
                    ("revisit", {"satisfaction": 4, "note": "满意"}),
                )
            ):
                event = {
                    "type": kind,
                    "event_id": f"e{step}",
                    **extra,
                    "occurred_at": "2026-11-24T12:00:00+08:00",
                }
                client.post(f"/v1/work-orders/{order_id}/events", json=event).raise_for_status()
        transfers = [
            client.post(
                "/v1/work-orders",
                json=order(
                    f"GZ-P{n:03d}",
                    category="report",
                    matter_code="GA-0102",
                    title="群租房隐患",
                    content="某小区出租屋住了二十多人，存在治安隐患。",
                ),
            ).json()["id"]
            for n in range(CASES)
        ]
        wait_until(
            lambda: len(police.cases) == CASES and len(police.callbacks) == 2 * CASES,
            timeout=60,
            what="everything after the outage",
        )
    assert police.outage_refusals > 0
    for n in range(CASES):
        jjdbh = f"J2026112400{n:04d}"
        seen = [(op, reason) for op, key, reason in police.log if key == jjdbh]
        assert seen == [("ConfirmCase", ""), ("Callback", "1"), ("Callback", "3")], seen
    assert all(count == 1 for count in police.received.values())
    assert len({case["FLOWID"] for case in police.cases.values()}) == len(transfers)
