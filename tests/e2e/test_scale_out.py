"""Two `lianxin serve` processes on one PostgreSQL database share the work: each handoff is
delivered once, both processes deliver some, and the audit chain they both append to
verifies while they run and afterwards."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gateway.bootstrap import open_sql_store
from gateway.service.audit import ChainReport, verify_chain
from tests.e2e.cluster import (
    EXPECTED_CALLBACKS,
    audit_verify,
    cluster,
    database_counts,
    submit_in_parallel,
    transfers_per_order,
    wait_for_outcomes,
)
from tests.integration.api.helpers import wait_until

#: full size, in every CI run; one at a time (group "load"), left out of the fast tier
pytestmark = [pytest.mark.load, pytest.mark.xdist_group("load")]

ORDERS = 200


def verify_until(url: str, done: threading.Event, reports: list[ChainReport]) -> None:
    """Verify the live chain again and again while the gateways write to it."""
    store = open_sql_store(url)
    try:
        while not done.wait(0.1):  # leave the simulators in this process some CPU
            with store.audit_snapshot() as (head, records):
                reports.append(verify_chain(records, head))
    finally:
        store.engine.dispose()


@pytest.mark.slow
def test_two_processes_on_one_database_share_the_work_and_one_audit_chain(
    postgres_url: str, tmp_path: Path
) -> None:
    with cluster(postgres_url, tmp_path) as world:
        done, live_reports = threading.Event(), []
        verifier = threading.Thread(target=verify_until, args=(postgres_url, done, live_reports))
        verifier.start()
        try:
            accepted = submit_in_parallel([g.url for g in world.gateways], ORDERS)
            callbacks = world.hotline.statuses
            finished = lambda: world.hotline.statuses_told() >= 3 * ORDERS  # noqa: E731
            wait_until(finished, timeout=180, what="every status callback")
            wait_for_outcomes(postgres_url, 4 * ORDERS, timeout=60)
        finally:
            done.set()
            verifier.join(60)
        statuses, states, owners = database_counts(postgres_url)

    assert len(set(accepted.values())) == ORDERS
    assert world.tax.unique_deliveries() == ORDERS
    assert set(transfers_per_order(world.tax).values()) == {1}, "an order applied twice"
    assert all(callbacks[order_id] == EXPECTED_CALLBACKS for order_id in accepted.values())
    assert world.tax.updates_refused == [] and world.tax.update_failures == 0
    assert statuses == {"resolved": ORDERS}
    assert states == {"delivered": 4 * ORDERS}  # a transfer and three callbacks per order
    assert set(owners) == {"gw-1", "gw-2"} and min(owners.values()) >= ORDERS // 5, owners
    assert live_reports and all(report.ok for report in live_reports), live_reports[-1:]
    verified = audit_verify(postgres_url)
    assert verified.returncode == 0, verified.stderr
    print(f"delivered per process: {dict(owners)}; live verifications: {len(live_reports)}")
