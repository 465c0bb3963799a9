"""SIGKILL the gateway in the middle of 1,000 deliveries: nothing is lost, nothing applied twice."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from connectors.simulators.agency import AgencySimulator, Script
from connectors.simulators.hotline import HotlineSimulator
from connectors.simulators.server import ServerThread
from gateway.sealing import generate_data_key
from gateway.signing import generate_ed25519_key, public_text_of
from gateway.store.sql import SqlStore
from tests.e2e.gateway_process import GatewayProcess, free_port
from tests.integration.api.helpers import order, wait_until

#: full size, in every CI run; one at a time (group "load"), left out of the fast tier
pytestmark = [pytest.mark.load, pytest.mark.xdist_group("load")]

ORDERS = 1000


@pytest.fixture
def world(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, AgencySimulator, HotlineSimulator]]:
    key = generate_ed25519_key()
    port = free_port()
    hotline = HotlineSimulator([public_text_of(key)])
    agency_key = generate_ed25519_key()
    tax = AgencySimulator(
        "tax-12366",
        f"http://127.0.0.1:{port}",
        [public_text_of(key)],
        agency_key,
        Script(steps=()),
        "SW",
    )
    with ServerThread(hotline.app) as hotline_server, ServerThread(tax.app) as tax_server:
        gateway = GatewayProcess(
            port,
            {
                "database_url": database_url,
                "hotline_callback_url": f"{hotline_server.url}/callbacks",
                "agency_endpoints": {
                    "tax-12366": f"{tax_server.url}/orders",
                    "city-management": f"{tax_server.url}/orders",
                },
                "agency_keys": {"tax-12366": [public_text_of(agency_key)]},
                "signing_keys": [key],
                "data_keys": [generate_data_key()],  # kept across the restart, as deployed
                "lease_seconds": 3,
                "poll_interval": 0.2,
            },
            tmp_path / "gateway.log",
        )
        gateway.start()
        try:
            yield gateway, tax, hotline
        finally:
            gateway.stop()


def submit_all(url: str, done: list[str]) -> None:
    """Submit every order, re-submitting (idempotently) while the gateway is down."""
    with httpx.Client(base_url=url, timeout=5) as client:
        for n in range(ORDERS):
            while True:
                try:
                    fresh = datetime.now(UTC).isoformat()  # no deadline card during the test
                    response = client.post(
                        "/v1/work-orders", json=order(f"GZ-{n:05d}", received_at=fresh)
                    )
                    if response.status_code in (200, 202):
                        done.append(response.json()["id"])
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)


def test_sigkill_mid_stream_loses_nothing_and_applies_nothing_twice(
    world: tuple[GatewayProcess, AgencySimulator, HotlineSimulator],
    database_url: str,
) -> None:
    gateway, tax, hotline = world
    submitted: list[str] = []
    feeder = threading.Thread(target=submit_all, args=(gateway.url, submitted))
    feeder.start()
    wait_until(
        lambda: tax.unique_deliveries() >= ORDERS // 3, timeout=120, what="a third delivered"
    )
    gateway.kill()
    killed_at = tax.unique_deliveries()
    gateway.start()
    feeder.join(300)
    wait_until(lambda: tax.unique_deliveries() == ORDERS, timeout=180, what="every transfer")
    callbacks = lambda: sum(map(len, hotline.statuses.values()))  # noqa: E731 (alerts aside)
    wait_until(lambda: callbacks() == ORDERS, timeout=180, what="every status callback")

    assert killed_at < ORDERS, "the kill came after the stream ended"
    assert len(set(submitted)) == ORDERS
    assert all(hotline.statuses[order_id] == ["dispatched"] for order_id in submitted)
    store = SqlStore(database_url)
    try:
        all_delivered = lambda: store.run_sync(  # noqa: E731
            lambda uow: uow.handoffs.count_by_state() == {"delivered": 2 * ORDERS}
        )
        wait_until(all_delivered, timeout=30, what="every outcome recorded")
    finally:
        store.engine.dispose()
    print(
        f"killed after {killed_at} deliveries; {tax.duplicates()} redelivered ids, "
        f"each processed once by the receiver"
    )
    verify = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "audit", "verify", "--database", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
