"""Agencies that fail: retried on schedule, dead-lettered when hopeless, disabled on 410."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gateway.settings import REPO_ROOT
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until


@pytest.fixture
def fast_retries(tmp_path: Path) -> Path:
    """A copy of the shipped mappings whose tax profile retries after 0.2 s, 3 attempts."""
    root = tmp_path / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", root)
    tax = root / "agencies" / "tax-12366.toml"
    text = tax.read_text(encoding="utf-8")
    text = text.replace(
        "schedule = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]",
        "schedule = [0, 0.2, 0.2]",
    )
    tax.write_text(text, encoding="utf-8")
    return root


def handoff_of(client: httpx.Client, order_id: str) -> dict[str, object]:
    view = client.get(f"/v1/work-orders/{order_id}").json()
    return next(h for h in view["handoffs"] if h["agency"] == "tax-12366")


def events_of(client: httpx.Client, order_id: str) -> list[str]:
    return [e["event"] for e in client.get(f"/v1/work-orders/{order_id}").json()["timeline"]]


def test_an_agency_that_recovers_gets_the_order_on_a_retry(
    make_stack: Callable[..., Stack],
    fast_retries: Path,
) -> None:
    stack = make_stack(mappings_dir=fast_retries)
    stack.agencies["tax-12366"].fail_next = 2
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order()).json()["id"]
        wait_until(lambda: handoff_of(client, order_id)["state"] == "delivered", what="delivery")
        assert handoff_of(client, order_id)["attempts"] == 3
        events = events_of(client, order_id)
    assert events.count("failed") == 2 and events.count("retry_scheduled") == 2
    assert stack.agencies["tax-12366"].unique_deliveries() == 1


def test_an_agency_down_for_good_dead_letters_the_handoff_with_its_last_error(
    make_stack: Callable[..., Stack],
    fast_retries: Path,
) -> None:
    stack = make_stack(mappings_dir=fast_retries)
    stack.agencies["tax-12366"].fail_next = 100
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order()).json()["id"]
        wait_until(lambda: handoff_of(client, order_id)["state"] == "dead", what="dead letter")
        handoff = handoff_of(client, order_id)
        events = events_of(client, order_id)
    assert handoff["attempts"] == 3 and handoff["last_status"] == 503
    assert "simulated outage" in str(handoff["last_error"])
    assert events.count("dead_lettered") == 1


def test_a_permanent_refusal_is_dead_lettered_at_once(
    make_stack: Callable[..., Stack],
    fast_retries: Path,
) -> None:
    stack = make_stack(mappings_dir=fast_retries)
    tax = stack.agencies["tax-12366"]
    tax.fail_next, tax.fail_status = 1, 422
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order()).json()["id"]
        wait_until(lambda: handoff_of(client, order_id)["state"] == "dead", what="dead letter")
        assert handoff_of(client, order_id)["attempts"] == 1


def test_a_410_disables_the_agency_and_holds_its_other_handoffs(
    make_stack: Callable[..., Stack],
    fast_retries: Path,
) -> None:
    stack = make_stack(mappings_dir=fast_retries)
    tax = stack.agencies["tax-12366"]
    tax.fail_next, tax.fail_status = 1, 410
    with httpx.Client(base_url=stack.url) as client:
        first = client.post("/v1/work-orders", json=order("GZ-1")).json()["id"]
        wait_until(lambda: handoff_of(client, first)["state"] == "dead", what="dead letter")
        assert "agency_disabled" in events_of(client, first)
        second = client.post("/v1/work-orders", json=order("GZ-2")).json()["id"]
        time.sleep(1.0)  # several poll intervals: a disabled agency is never claimed
        assert handoff_of(client, second)["state"] == "pending"
    assert tax.unique_deliveries() == 0
