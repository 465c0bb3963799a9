"""Regression (issue 15): an agency that drips its answer past the lease, then resets.

Before the fix, the attempt outlived its lease: the handoff was claimed again, the second
attempt was acknowledged, then the first attempt's late failure set it back to `pending`,
it went out a third time and the stored case number was overwritten. Now each attempt
is cut well inside its lease (a transient failure), and an outcome is recorded only by
the attempt that still holds the claim.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings import REPO_ROOT
from tests.conftest import Stack
from tests.integration.api.dripping_agency import DrippingAgency
from tests.integration.api.helpers import order, wait_until

TAX = "tax-12366"
LEASE = 1.0
DRIP = 2.5  # well past the lease
ORDERS = 6


@pytest.fixture
def quick_retries(tmp_path: Path) -> Path:
    """The shipped mappings, with the tax profile retrying after 0.2 s (timeouts too)."""
    root = tmp_path / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", root)
    tax = root / "agencies" / f"{TAX}.toml"
    text = tax.read_text(encoding="utf-8")
    text = text.replace(
        "schedule = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]",
        "schedule = [0, 0.2, 0.2, 0.2, 0.2]",
    ).replace("throttle_floor = 60", "throttle_floor = 0.2")
    tax.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def dripping() -> Iterator[DrippingAgency]:
    agency = DrippingAgency(drip_seconds=DRIP).start()
    yield agency
    agency.stop()


def view(client: httpx.Client, order_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/work-orders/{order_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def tax_handoff(order_view: dict[str, Any]) -> dict[str, Any]:
    return next(h for h in order_view["handoffs"] if h["agency"] == TAX)


def events(order_view: dict[str, Any], handoff_id: str, name: str) -> list[dict[str, Any]]:
    return [
        e for e in order_view["timeline"] if e["handoff_id"] == handoff_id and e["event"] == name
    ]


def post_orders(client: httpx.Client) -> list[str]:
    ids = []
    for n in range(ORDERS):
        answer = client.post("/v1/work-orders", json=order(flow_id=f"GZ-DRIP-{n}"))
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    return ids


def settled(client: httpx.Client, order_ids: list[str]) -> bool:
    return all(tax_handoff(view(client, i))["state"] == "delivered" for i in order_ids)


@pytest.mark.slow
def test_a_dripping_agency_gets_each_handoff_acknowledged_exactly_once(
    make_stack: Callable[..., Stack], quick_retries: Path, dripping: DrippingAgency
) -> None:
    stack = make_stack(
        mappings_dir=quick_retries,
        more_endpoints={TAX: dripping.url},
        lease_seconds=LEASE,
        poll_interval=0.1,
    )
    with httpx.Client(base_url=stack.url) as client:
        order_ids = post_orders(client)
        time.sleep(DRIP + 1.5)  # every first attempt has reset by now, late outcomes are in
        wait_until(lambda: settled(client, order_ids), timeout=20, what="every handoff delivered")
        time.sleep(1.0)  # room for a wrongly rescheduled handoff to go out again
        views = [view(client, i) for i in order_ids]
    twice = [h for h, cases in answers(views, dripping).items() if len(cases) != 1]
    assert not twice, (
        f"{len(twice)} of {ORDERS} answered more than once: {answers(views, dripping)}"
    )
    for order_view in views:
        handoff = tax_handoff(order_view)
        (case,) = dripping.answered[handoff["id"]]
        assert len(events(order_view, handoff["id"], "delivered")) == 1
        assert handoff["state"] == "delivered" and handoff["agency_ref"] == case
        assert order_view["work_order"]["partner_ids"][TAX] == case
        assert not events(order_view, handoff["id"], "dead_lettered")
        cut = events(order_view, handoff["id"], "failed")[0]["detail"]
        assert cut["retryable"] is True and "deadline" in cut["error"]


def answers(views: list[dict[str, Any]], agency: DrippingAgency) -> dict[str, list[str]]:
    """Per tax handoff, the case numbers the agency answered with in full."""
    return {(h := tax_handoff(v))["id"]: agency.answered.get(h["id"], []) for v in views}
