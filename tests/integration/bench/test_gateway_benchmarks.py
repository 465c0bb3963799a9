"""The benchmarks against a real `lianxin serve` on SQLite, at toy sizes: they measure
what they say (every order reaches the agency and is recorded; a queued backlog drains)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.audit import audit_rate
from bench.drain import drain, waiting
from bench.suites import delivered_transfers, latency, throughput, wait_idle
from bench.world import World, database

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with database("sqlite", tmp_path) as url, World(url, tmp_path) as running:
        yield running


def test_throughput_counts_only_acknowledgements_recorded_in_the_outbox(world: World) -> None:
    got = throughput(world, 100, 8, lambda: delivered_transfers(world.database_url))
    assert delivered_transfers(world.database_url) == 150  # 50 warm-up orders, then 100
    assert got.rate > 0
    assert got.intake_rate >= got.rate


def test_latency_is_measured_to_the_agency_holding_each_order(world: World) -> None:
    got = latency(world, rate=20, seconds=1.0)
    assert got.lost == 0
    assert 0 < got.p50_ms <= got.p99_ms < 10_000


def test_a_queued_backlog_drains_and_emergencies_still_arrive(world: World) -> None:
    got = drain(world, 300, emergency_rate=5)
    assert got.backlog == 301  # the template order's own transfer is queued with it
    assert waiting(world.database_url) == 0
    assert got.emergency.lost == 0
    assert got.rss_peak_mib >= got.rss_start_mib > 0


def test_the_audit_chain_of_a_benchmark_run_verifies(world: World) -> None:
    throughput(world, 20, 4, lambda: delivered_transfers(world.database_url))
    # each status callback is queued with its transfer's acknowledgement and delivered
    # after it: counted only once no handoff is open
    wait_idle(world.database_url, timeout=120)
    got = audit_rate(world.database_url)
    assert got.entries >= 70 * 4  # received, delivered (transfer), status_applied, delivered
    assert got.rate > 0
