"""A backlog of 100,000 normal handoffs does not delay an emergency handoff to 119.

The gateway runs as its own process. The normal agency is down (every delivery fails and
is rescheduled), so the normal lane churns through the backlog the whole time; emergency
orders are timed from the hotline's POST to the moment 119 holds the order, once before
the backlog exists and once with it. The figures are printed; the assertion is loose
(an emergency stuck behind the backlog would take minutes, not seconds).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, insert, select

from connectors.simulators.agency import AgencySimulator, Script
from gateway.crypto.sealing import generate_data_key
from gateway.domain.messages import Lane
from gateway.store.schema import handoffs
from gateway.world.simulated import serve_simulators
from tests.e2e.gateway_process import GatewayProcess, free_port
from tests.integration.api.helpers import emergency

#: full size, in every CI run; one at a time (group "load"), left out of the fast tier
pytestmark = [pytest.mark.load, pytest.mark.xdist_group("load")]

BACKLOG = 100_000
SAMPLES = 10


@pytest.fixture
def world(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, AgencySimulator, AgencySimulator]]:
    port = free_port()
    with ExitStack() as stack:
        quiet = {"fire-119": Script(())}  # 119 holds each emergency and says nothing more
        serving = serve_simulators(stack, [f"http://127.0.0.1:{port}"], scripts=quiet)
        agencies = serving.simulators.agencies
        tax, fire = agencies["tax-12366"], agencies["fire-119"]
        tax.fail_next = 10**9  # down for the whole test: every normal delivery fails and waits
        settings = {
            **serving.gateway_settings(),
            "database_url": database_url,
            "data_keys": [generate_data_key()],  # as deployed
            "poll_interval": 0.2,
        }
        gateway = GatewayProcess(port, settings, tmp_path / "gateway.log")
        gateway.start()
        stack.callback(gateway.stop)
        yield gateway, tax, fire


def emergency_latencies(
    url: str, fire: AgencySimulator, label: str
) -> tuple[list[float], list[float]]:
    """Post SAMPLES emergencies one at a time: seconds to the 202, and to 119 holding each."""
    latencies, accepted = [], []
    with httpx.Client(base_url=url, timeout=10) as client:
        for n in range(SAMPLES):
            before = len(fire.payloads)
            started = time.perf_counter()
            response = client.post("/v1/work-orders", json=emergency(f"{label}-{n}"))
            assert response.status_code == 202, response.text
            accepted.append(time.perf_counter() - started)
            while len(fire.payloads) == before:
                assert time.perf_counter() - started < 30, "119 never got the emergency"
                time.sleep(0.001)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.2)
    return latencies, accepted


def add_backlog(database_url: str) -> None:
    """100,000 due normal handoffs for the tax sub-centre, written straight into the outbox."""
    engine = create_engine(database_url)
    now = time.time()
    rows = [
        {
            "id": f"msg_backlog_{n:07d}",
            "order_id": f"wo_backlog_{n:07d}",
            "agency": "tax-12366",
            "kind": "transfer",
            "lane": Lane.normal.value,
            "body": b'{"type":"work_order.transfer"}',
            "body_digest": "0" * 64,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for n in range(BACKLOG)
    ]
    with engine.begin() as conn:
        for start in range(0, BACKLOG, 10_000):
            conn.execute(insert(handoffs), rows[start : start + 10_000])
    engine.dispose()


def pending_normal(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        query = select(func.count()).where(
            handoffs.c.lane == "normal", handoffs.c.state.in_(["pending", "in_flight"])
        )
        count = int(conn.execute(query).scalar_one())
    engine.dispose()
    return count


def test_a_backlog_of_100000_normal_handoffs_does_not_delay_emergencies(
    world: tuple[GatewayProcess, AgencySimulator, AgencySimulator], database_url: str
) -> None:
    gateway, tax, fire = world
    quiet, quiet_intake = emergency_latencies(gateway.url, fire, "QUIET")
    add_backlog(database_url)
    deadline = time.monotonic() + 60
    while tax.outage_refusals < 500:  # the normal lane is busy with the backlog
        assert time.monotonic() < deadline, "the normal lane never started on the backlog"
        time.sleep(0.1)
    busy, busy_intake = emergency_latencies(gateway.url, fire, "BUSY")
    left = pending_normal(database_url)

    def figures(name: str, values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        return f"{name}: p50 {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms"

    print(
        f"\nemergency handoff latency (POST → 119 holds it), {SAMPLES} each; "
        f"{figures('no backlog', quiet)}; {figures('100,000 backlog', busy)}; "
        f"of which intake (202): {figures('no backlog', quiet_intake)}; "
        f"{figures('backlog', busy_intake)}; "
        f"normal deliveries refused by the down agency meanwhile: {tax.outage_refusals}; "
        f"normal handoffs still queued: {left}"
    )
    assert left > BACKLOG // 2, "the backlog was still there while emergencies went through"
    assert max(busy) < 2.0, "an emergency waited behind the backlog"
