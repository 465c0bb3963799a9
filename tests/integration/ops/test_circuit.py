"""A flapping agency: the circuit opens, holds its deliveries, probes, and closes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Stack
from tests.integration.api.helpers import mappings_copy, wait_until
from tests.integration.ops.helpers import api_tokens, handoffs_in, submit_orders
from tests.integration.ops.test_metrics import scrape

TAX = "tax-12366"


@pytest.fixture
def quick_circuit(tmp_path: Path) -> Path:
    """Tax retries every 0.1 s; its circuit opens after 3 failures in a row for 2 s."""
    schedule = "schedule = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]"
    fast = "schedule = [0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]"
    mappings = mappings_copy(tmp_path, {f"agencies/{TAX}.toml": (schedule, fast)})
    with (mappings / "agencies" / f"{TAX}.toml").open("a", encoding="utf-8") as profile:
        profile.write("\n[circuit]\nenabled = true\nconsecutive = 3\ncool_down = 2.0\n")
    return mappings


def circuit_of(url: str) -> float:
    return scrape(url)["lianxin_circuit_state", (("agency", TAX),)]


@pytest.mark.slow
def test_a_flapping_agency_is_held_while_its_circuit_is_open_and_gets_everything_after(
    make_stack: Callable[..., Stack], database_url: str, quick_circuit: Path
) -> None:
    stack = make_stack(api_tokens=api_tokens(), mappings_dir=quick_circuit)
    tax = stack.agencies[TAX]
    tax.fail_next, tax.fail_status = 10**9, 503  # down, retryable
    submit_orders(stack, 5, "FLAP")
    wait_until(lambda: circuit_of(stack.url) == 2, 15, "the circuit to open")
    # attempts already under way when it opened still arrive: let them finish first
    wait_until(lambda: handoffs_in(database_url, "in_flight", TAX) == 0, 5, "in-flight to end")
    refused = tax.outage_refusals
    time.sleep(0.6)  # within the cool-down: six retry periods pass with nothing sent
    assert tax.outage_refusals == refused
    tax.fail_next = 0  # the agency is back: the next probe succeeds
    wait_until(lambda: handoffs_in(database_url, "delivered", TAX) == 5, 30, "all delivered")
    assert circuit_of(stack.url) == 0
    assert tax.unique_deliveries() == 5 and tax.duplicates() == 0
