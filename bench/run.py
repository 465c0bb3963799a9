"""The whole suite: ceiling first, then each store, then the Celery peer; one table."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bench.audit import audit_rate
from bench.drain import drain
from bench.peer_world import PeerWorld
from bench.profile import print_costs, py_spy
from bench.reference_world import ReferenceWorld
from bench.stats import Row, ratio, table, times
from bench.suites import (
    Latency,
    Throughput,
    ceiling_latency,
    ceiling_throughput,
    delivered_transfers,
    latency,
    throughput,
    wait_idle,
)
from bench.world import World, database, workdir

RATES = (50.0, 200.0, 500.0)
CONCURRENCY = 32


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is."""

    orders: int
    seconds: float
    backlog: int

    @classmethod
    def quick(cls) -> Sizes:
        """A few minutes in all."""
        return cls(orders=500, seconds=3.0, backlog=2_000)

    @classmethod
    def full(cls) -> Sizes:
        """The documented run (15 minutes on 2 busy cores; see docs/performance.md)."""
        return cls(orders=1_000, seconds=10.0, backlog=5_000)

    def but(self, orders: int | None, backlog: int | None, seconds: float | None) -> Sizes:
        """These sizes with the given ones replaced (None keeps the default)."""
        return Sizes(
            orders if orders is not None else self.orders,
            seconds if seconds is not None else self.seconds,
            backlog if backlog is not None else self.backlog,
        )


@dataclass
class Ceiling:
    """The trivial endpoint's figures, measured once per run."""

    throughput: Throughput
    latency: dict[float, Latency]


def _latency_row(name: str, store: str, got: Latency, ceiling: Latency) -> Row:
    factor = f"x{got.p99_ms / ceiling.p99_ms:.1f} p99" if ceiling.p99_ms else "-"
    return Row(
        f"{name} @{got.offered:g}/s p50/p99",
        store,
        f"{got.p50_ms:.1f}/{got.p99_ms:.1f} ms",
        f"{ceiling.p50_ms:.1f}/{ceiling.p99_ms:.1f} ms",
        factor,
        f"achieved {got.achieved:.0f}/s, lost {got.lost}",
    )


def _throughput_row(
    name: str,
    store: str,
    got: Throughput,
    ceiling: Throughput,
    reference: Throughput | None = None,
) -> Row:
    server = f"server {got.server_cpu:.0%}, " if got.server_cpu else ""
    machine = f"; machine {got.machine_busy:.0%} busy" if got.machine_busy else ""
    note = (
        f"intake {got.intake_rate:.0f}/s; CPU: {server}generator {got.generator_cpu:.0%} "
        f"of a core{machine}"
    )
    return Row(
        name,
        store,
        f"{got.rate:.0f}/s",
        f"{ceiling.rate:.0f}/s",
        ratio(got.rate, ceiling.rate),
        note,
        reference=times(got.rate, reference.rate) if reference else "",
        cpu_ms=f"{got.cpu_ms_per_order:.2f}" if got.server_cpu else "",
    )


def reference_throughput(store: str, sizes: Sizes, work: Path) -> Throughput:
    """The reference pipeline (bench/reference.py) through the e2e benchmark, fresh database."""
    with database(store, work) as url, ReferenceWorld(url, work) as reference:
        return throughput(reference, sizes.orders, CONCURRENCY, reference.delivered)


def store_rows(
    store: str, sizes: Sizes, ceiling: Ceiling, work: Path
) -> tuple[list[Row], Throughput]:
    """The reference pipeline, then every Lianxin benchmark on one store (one fresh database
    each); the rows and Lianxin's e2e figures."""
    reference = reference_throughput(store, sizes, work)
    rows = [_throughput_row("e2e reference pipeline", store, reference, ceiling.throughput)]
    with database(store, work) as url, World(url, work) as world:
        e2e = throughput(world, sizes.orders, CONCURRENCY, lambda: delivered_transfers(url))
        rows.insert(
            0,
            _throughput_row("e2e durable handoffs", store, e2e, ceiling.throughput, reference),
        )
        for rate in RATES:
            wait_idle(url)
            measured = latency(world, rate, sizes.seconds)
            rows.append(_latency_row("intake→agency", store, measured, ceiling.latency[rate]))
        wait_idle(url)
        audit = audit_rate(url)
        rows.append(
            Row(
                "audit verify",
                store,
                f"{audit.rate:,.0f}/s",
                f"{audit.in_memory_rate:,.0f}/s",
                ratio(audit.rate, audit.in_memory_rate),
                f"{audit.entries:,} entries; ceiling = same check from memory",
            )
        )
        world.sink_control("reset")
        got_drain = drain(world, sizes.backlog)
        em = got_drain.emergency
        rows.append(
            Row(
                f"backlog drain {got_drain.backlog:,}",
                store,
                f"{got_drain.rate:.0f}/s",
                f"{ceiling.throughput.rate:.0f}/s",
                ratio(got_drain.rate, ceiling.throughput.rate),
                f"emergency p50/p99 {em.p50_ms:.1f}/{em.p99_ms:.1f} ms (lost {em.lost}); "
                f"RSS {got_drain.rss_start_mib:.0f}→peak {got_drain.rss_peak_mib:.0f}"
                f"→{got_drain.rss_end_mib:.0f} MiB",
            )
        )
    return rows, e2e


def scale_out_row(store: str, sizes: Sizes, ceiling: Ceiling, work: Path) -> Row:
    """The e2e run again with two gateway processes sharing one database (PostgreSQL)."""
    with database(store, work) as url, World(url, work, gateways=2) as world:
        got = throughput(world, sizes.orders, CONCURRENCY, lambda: delivered_transfers(url))
    return _throughput_row("e2e, 2 gateway processes", store, got, ceiling.throughput)


def peer_rows(sizes: Sizes, ceiling: Ceiling, work: Path, e2e: dict[str, Throughput]) -> list[Row]:
    """The Celery + Redis peer: throughput and latency with the same generator; its e2e row
    notes Lianxin's e2e rate per store (`e2e`) as a factor of the peer's."""
    rows: list[Row] = []
    with PeerWorld(work) as peer:
        got = throughput(peer, sizes.orders, CONCURRENCY, peer.delivered)
        row = _throughput_row("e2e handoffs (peer)", "celery+redis", got, ceiling.throughput)
        versus = ", ".join(f"{store} {times(t.rate, got.rate)}" for store, t in e2e.items())
        rows.append(replace(row, note=f"{row.note}; Lianxin e2e / peer: {versus}"))
        for rate in RATES:
            measured = latency(peer, rate, sizes.seconds)
            rows.append(
                _latency_row(
                    "intake→agency (peer)", "celery+redis", measured, ceiling.latency[rate]
                )
            )
    return rows


def profile_run(store: str, sizes: Sizes, backlog: bool = False, gil: bool = False) -> None:
    """The e2e benchmark (or the drain) once, with py-spy on the gateway; where time goes."""
    work = workdir()
    raw = work / "gateway.pyspy.txt"
    with database(store, work) as url, World(url, work) as world:
        if backlog:
            with py_spy(world.gateway.pid, raw, gil=gil):
                got = drain(world, sizes.backlog)
            print(f"backlog drain of {got.backlog} on {store}: {got.rate:.0f}/s (under py-spy)")
        else:
            with py_spy(world.gateway.pid, raw, gil=gil):
                e2e = throughput(world, sizes.orders, CONCURRENCY, lambda: delivered_transfers(url))
            print(f"e2e durable handoffs on {store}: {e2e.rate:.0f}/s (under py-spy)")
    print_costs(raw)


def run_suite(stores: list[str], sizes: Sizes, peer: bool) -> None:
    """Measure the ceiling, each store and the peer; print the table."""
    work = workdir()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores; "
        f"{platform.python_implementation()} {platform.python_version()}; {sizes}; logs in {work}"
    )
    ceiling = Ceiling(
        ceiling_throughput(work, sizes.orders, CONCURRENCY),
        {rate: ceiling_latency(work, rate, sizes.seconds) for rate in RATES},
    )
    rows = [_throughput_row("trivial endpoint", "-", ceiling.throughput, ceiling.throughput)]
    e2e: dict[str, Throughput] = {}
    for store in stores:
        more, e2e[store] = store_rows(store, sizes, ceiling, work)
        rows += more
        if store == "postgresql":  # SQLite has one writer: more processes would only queue
            rows.append(scale_out_row(store, sizes, ceiling, work))
        print(table(rows), flush=True)
    if peer:
        rows += peer_rows(sizes, ceiling, work, e2e)
    print(table(rows), flush=True)
