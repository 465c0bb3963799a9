"""SIGKILL the gateway in the middle of 1,000 deliveries: nothing is lost, nothing applied twice."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from connectors.simulators.agency import AgencySimulator
from connectors.simulators.hotline import HotlineSimulator
from gateway.crypto.sealing import generate_data_key
from gateway.world.simulated import serve_simulators
from tests.e2e.cluster import wait_for_outcomes
from tests.e2e.gateway_process import GatewayProcess, free_port
from tests.integration.api.helpers import order, wait_until

#: full size, in every CI run; one at a time (group "load"), left out of the fast tier
pytestmark = [pytest.mark.load, pytest.mark.xdist_group("load")]

ORDERS = 1000


@pytest.fixture
def world(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, AgencySimulator, HotlineSimulator]]:
    port = free_port()
    with ExitStack() as stack:
        serving = serve_simulators(stack, [f"http://127.0.0.1:{port}"])
        settings = {
            **serving.gateway_settings(),
            "database_url": database_url,
            "data_keys": [generate_data_key()],  # kept across the restart, as deployed
            "lease_seconds": 3,
            "poll_interval": 0.2,
        }
        gateway = GatewayProcess(port, settings, tmp_path / "gateway.log")
        gateway.start()
        stack.callback(gateway.stop)
        cast = serving.simulators
        yield gateway, cast.agencies["tax-12366"], cast.hotline


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
    callbacks = hotline.statuses_told  # alerts aside
    wait_until(lambda: callbacks() == ORDERS, timeout=180, what="every status callback")

    assert killed_at < ORDERS, "the kill came after the stream ended"
    assert len(set(submitted)) == ORDERS
    assert all(hotline.statuses[order_id] == ["dispatched"] for order_id in submitted)
    wait_for_outcomes(database_url, 2 * ORDERS, timeout=30)  # alerts about load left out
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
