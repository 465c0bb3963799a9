"""Auto-disable after days of only failures (an injected clock), resume → recovered; and two
processes seeing the same transition announce it once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from connectors import TRANSPORTS
from gateway.bootstrap import open_sql_store
from gateway.mapping.loader import load_mappings
from gateway.service.directory import Directory
from gateway.service.operations.agency_alerts import Tally, record_standings
from gateway.settings import REPO_ROOT
from gateway.store.migrate import upgrade
from gateway.store.schema import handoffs
from tests.conftest import Stack
from tests.integration.api.helpers import wait_until
from tests.integration.ops.alerting import (
    FAST_RETRIES,
    TAX,
    agency_alerts,
    names,
    quick_mappings,
    standing_row,
    with_clock_ahead,
)
from tests.integration.ops.helpers import (
    api_tokens,
    as_role,
    audit_events,
    count_rows,
    handoffs_in,
    submit_orders,
)

DAYS = 86_400


def test_an_agency_with_only_failures_for_n_days_is_disabled_and_recovers_after_a_resume(
    make_stack: Callable[..., Stack], database_url: str, tmp_path: Path
) -> None:
    circuit = "consecutive = 1000\ndisable_after_days = 3"
    mappings = quick_mappings(tmp_path, FAST_RETRIES, circuit)
    stack = make_stack(mappings_dir=mappings, api_tokens=api_tokens())
    tax = stack.agencies[TAX]
    tax.fail_next = 10**9
    submit_orders(stack, 3, "DOWN")
    wait_until(lambda: tax.outage_refusals >= 6, 15, "a few failures")
    assert agency_alerts(stack) == [] and handoffs_in(database_url, "dead", TAX) == 0
    with_clock_ahead(stack, 3 * DAYS + 60)  # the failures go on: now for three days
    wait_until(lambda: agency_alerts(stack), 15, "agency_disabled")
    refused = tax.outage_refusals
    time.sleep(0.5)  # disabled: nothing more is sent, and nothing is dead-lettered
    assert tax.outage_refusals - refused <= 3  # at most those already under way
    assert handoffs_in(database_url, "pending", TAX) == 3
    [disabled] = agency_alerts(stack)
    assert disabled["alert"] == "agency_disabled"
    assert disabled["detail"]["because"] == "only_failures"
    assert disabled["detail"]["reason"].startswith("only failures for 3 days")
    [entry] = [json.loads(d) for d in audit_events(database_url, "agency_disabled")]
    assert entry["by"] == "auto" and entry["reason"] == disabled["detail"]["reason"]
    tax.fail_next = 0
    with httpx.Client(base_url=stack.url, headers=as_role("operator")) as client:
        assert client.post(f"/v1/admin/agencies/{TAX}/resume").status_code == 200
    wait_until(lambda: tax.unique_deliveries() == 3, 15, "the held orders delivered")
    wait_until(lambda: len(agency_alerts(stack)) == 2, 15, "agency_recovered")
    assert names(agency_alerts(stack)) == ["agency_disabled", "agency_recovered"]
    assert agency_alerts(stack)[1]["detail"]["resumed"] is True
    row = standing_row(database_url, TAX)
    assert (row.announced, row.failures, row.failing_since) == ("ok", 0, None)


def _tally(failures: int = 0, delivered: bool = False) -> Tally:
    tally = Tally()
    if delivered:
        tally.delivered(TAX)
    for k in range(failures):
        tally.failed(TAX, 1000.0 + k, dead=False, gone=None, circuit_opened=False)
    return tally


def test_two_processes_seeing_the_same_transition_announce_it_once(database_url: str) -> None:
    upgrade(database_url)
    mappings = load_mappings(REPO_ROOT / "mappings", "routing/catalogue.toml", TRANSPORTS)
    directory = Directory.from_mappings(mappings)
    # as two processes would
    first, second = open_sql_store(database_url), open_sql_store(database_url)
    try:
        for store in (first, second):  # each saw 10 failures in a row (the default threshold)
            store.run_sync(lambda uow: record_standings(uow, directory, _tally(10), 2000.0))
        assert standing_row(database_url, TAX).failures == 20
        for store in (first, second):  # and then each a delivery
            store.run_sync(
                lambda uow: record_standings(uow, directory, _tally(delivered=True), 3e3)
            )
    finally:
        first.engine.dispose()
        second.engine.dispose()
    raised = [json.loads(d)["alert"] for d in audit_events(database_url, "alert_raised")]
    assert raised == ["agency_failing", "agency_recovered"]
    queued = count_rows(database_url, handoffs, handoffs.c.kind == "alert")
    assert queued == 4  # each to the hotline and the alert channel
