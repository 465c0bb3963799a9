"""`GET /metrics` after real deliveries, parsed as Prometheus parses it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Stack
from tests.integration.ops.helpers import (
    api_tokens,
    as_role,
    delivered_three_dead_two,
    submit_orders,
)

TAX = "tax-12366"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, role: str = "viewer") -> Samples:
    """Every sample on /metrics by (name, sorted labels)."""
    response = httpx.get(f"{url}/metrics", headers=as_role(role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_count_deliveries_dead_letters_backlog_and_pauses(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    delivered_three_dead_two(stack, database_url)
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        client.post("/v1/admin/agencies/city-management/pause")
    stack.app.state.gateway.metrics.attempt(TAX, "retry", 0.2)  # as a 503 would be counted
    seen = scrape(stack.url)
    assert seen["lianxin_deliveries_total", (("agency", TAX), ("outcome", "delivered"))] == 3
    assert seen["lianxin_deliveries_total", (("agency", TAX), ("outcome", "dead"))] == 2
    assert seen["lianxin_retries_total", (("agency", TAX),)] == 1
    assert seen["lianxin_delivery_seconds_count", (("agency", TAX),)] == 6
    assert seen["lianxin_delivery_seconds_sum", (("agency", TAX),)] > 0
    assert seen["lianxin_dead_letters", (("agency", TAX),)] == 2
    assert seen["lianxin_backlog", (("agency", TAX), ("lane", "normal"))] == 0
    assert seen["lianxin_agency_paused", (("agency", "city-management"),)] == 1
    assert seen["lianxin_agency_paused", (("agency", TAX),)] == 0
    assert seen["lianxin_agency_disabled", (("agency", TAX),)] == 0


def test_the_backlog_gauge_counts_what_waits_for_a_paused_agency(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(api_tokens=api_tokens())
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        client.post(f"/v1/admin/agencies/{TAX}/pause")
    submit_orders(stack, 4, "WAIT")
    seen = scrape(stack.url, role="operator")
    assert seen["lianxin_backlog", (("agency", TAX), ("lane", "normal"))] == 4


def test_metrics_need_a_token(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(api_tokens=api_tokens())
    assert httpx.get(f"{stack.url}/metrics").status_code == 401
    hotline = httpx.get(f"{stack.url}/metrics", headers=as_role("hotline"))
    assert hotline.status_code == 403
