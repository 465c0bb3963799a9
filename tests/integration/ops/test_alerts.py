"""Agency alerts: failing, recovered, a throttled dead-letter flood, a 410 and its resume,
delivered through the outbox to the hotline, a webhook channel and an MQTT channel."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from connectors.simulators.utility import UtilitySimulator
from tests.conftest import Stack
from tests.integration.api.helpers import wait_until
from tests.integration.ops.alerting import (
    FAST_RETRIES,
    ONE_ATTEMPT,
    TAX,
    agency_alerts,
    channel_keys,
    names,
    quick_mappings,
    standing_row,
    with_clock_ahead,
)
from tests.integration.ops.helpers import (
    api_tokens,
    as_role,
    audit_events,
    handoffs_in,
    submit_orders,
    wait_for_dead,
)

BREAKER = "enabled = true\nconsecutive = 3\ncool_down = 0.3"
NO_BREAKER = "consecutive = 3"


@pytest.mark.parametrize(
    ("circuit", "because"),
    [(BREAKER, "circuit_opened"), (NO_BREAKER, "consecutive_failures")],
    ids=["breaker", "no-breaker"],
)
def test_a_failing_agency_raises_failing_then_recovered_once_on_every_channel(
    make_stack: Callable[..., Stack],
    tmp_path: Path,
    mqtt_channel_key: str,
    start_mqtt_channel: Callable[[Stack, str], UtilitySimulator],
    circuit: str,
    because: str,
) -> None:
    mappings = quick_mappings(tmp_path, FAST_RETRIES, circuit, mqtt=True)
    stack = make_stack(mappings_dir=mappings, more_keys=channel_keys(mqtt_channel_key))
    topic = start_mqtt_channel(stack, mqtt_channel_key)
    tax = stack.agencies[TAX]
    tax.fail_next = 10**9  # down: 503 to everything
    submit_orders(stack, 2, "FAIL")
    wait_until(lambda: agency_alerts(stack), 15, "agency_failing at the hotline")
    tax.fail_next = 0  # back
    wait_until(lambda: tax.unique_deliveries() == 2, 15, "the held orders delivered")
    for path in ("/callbacks", "/alerts"):
        wait_until(lambda at=path: len(agency_alerts(stack, at)) == 2, 15, f"2 alerts at {path}")
    wait_until(lambda: len(topic.orders) == 2, 15, "two alerts on the MQTT topic")
    time.sleep(0.3)  # nothing more arrives: one alert per transition
    for alerts in (agency_alerts(stack), agency_alerts(stack, "/alerts"), topic.orders):
        assert names(alerts) == ["agency_failing", "agency_recovered"]
        failing, recovered = alerts
        assert failing["type"] == "agency.alert" and failing["agency"] == TAX
        assert failing["detail"]["because"] == because and failing["level"] == "warning"
        assert failing["detail"]["failures"] >= 3
        assert recovered["detail"]["was"] == "failing" and recovered["level"] == "info"


def test_a_dead_letter_flood_gives_one_alert_per_interval_with_a_count(
    make_stack: Callable[..., Stack], database_url: str, tmp_path: Path
) -> None:
    circuit = "consecutive = 1000\nexhausted_alert_interval = 600"
    stack = make_stack(mappings_dir=quick_mappings(tmp_path, ONE_ATTEMPT, circuit))
    stack.agencies[TAX].fail_next = 10**9
    submit_orders(stack, 40, "FLOOD")
    wait_for_dead(database_url, TAX, 40, timeout=30)
    wait_until(lambda: agency_alerts(stack), 15, "agency_exhausted")
    time.sleep(0.5)
    [first] = agency_alerts(stack)
    reported = first["detail"]["dead_letters"]
    assert first["alert"] == "agency_exhausted" and first["detail"]["interval_seconds"] == 600
    assert standing_row(database_url, TAX).exhausted_unreported == 40 - reported
    with_clock_ahead(stack, 601)  # the interval has passed: the next dead letter reports all
    submit_orders(stack, 1, "LATER")
    wait_until(lambda: len(agency_alerts(stack)) == 2, 15, "the second agency_exhausted")
    assert agency_alerts(stack)[1]["detail"]["dead_letters"] == 40 - reported + 1
    assert standing_row(database_url, TAX).exhausted_unreported == 0
    assert len(audit_events(database_url, "alert_raised")) == 2


def test_a_410_disables_with_an_alert_and_a_resume_recovers_with_another(
    make_stack: Callable[..., Stack], database_url: str, tmp_path: Path
) -> None:
    mappings = quick_mappings(tmp_path, FAST_RETRIES, "consecutive = 1000")
    stack = make_stack(mappings_dir=mappings, api_tokens=api_tokens())
    tax = stack.agencies[TAX]
    tax.fail_next, tax.fail_status = 1, 410
    submit_orders(stack, 1, "GONE")
    wait_until(lambda: "agency_disabled" in names(agency_alerts(stack)), 15, "agency_disabled")
    submit_orders(stack, 2, "HELD")  # wait in the outbox while the agency is disabled
    time.sleep(0.5)
    assert handoffs_in(database_url, "pending", TAX) == 2
    disabled = next(a for a in agency_alerts(stack) if a["alert"] == "agency_disabled")
    assert disabled["detail"]["because"] == "gone" and disabled["level"] == "critical"
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        assert client.post(f"/v1/admin/agencies/{TAX}/resume").status_code == 200
    wait_until(lambda: tax.unique_deliveries() == 2, 15, "the held orders delivered")
    wait_until(lambda: "agency_recovered" in names(agency_alerts(stack)), 15, "recovered")
    expected = ["agency_disabled", "agency_exhausted", "agency_recovered"]
    assert names(agency_alerts(stack)) == expected
    recovered = agency_alerts(stack)[-1]
    assert recovered["detail"]["was"] == "disabled" and recovered["detail"]["resumed"] is True
    raised = [json.loads(d)["alert"] for d in audit_events(database_url, "alert_raised")]
    assert sorted(raised) == expected
