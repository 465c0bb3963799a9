"""What the database does per order: `python -m bench.statements [--store sqlite|postgresql]
[--orders N] [--concurrency C]`.

Runs N tax consults (bench/orders.py, the e2e benchmark's orders) end to end through a
Lianxin gateway in this process, configured as the benchmarks configure `lianxin serve`,
on a fresh database of the real SQL store, with the loopback agency (bench/sink.py) as the
agency and the hotline: intake → transfer delivered → acknowledgement recorded →
callback delivered. It counts what happens (bench/sql_tally.py): statements by verb,
commits, audit entries and watch rows written and, on PostgreSQL, round trips; divided
by N. Five orders go through first (connections, caches, keys), then the gateway idles
for `--idle` seconds and what its background work runs meanwhile is shown on its own line;
the orders' phase includes any background work that ran during it.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.loadgen import closed_loop
from bench.orders import consult_request
from bench.sink import Sink
from bench.sql_tally import SqlTally, Tally
from bench.world import database, gateway_settings
from connectors.simulators.server import ServerThread
from gateway.settings import Settings

WARM_UP = 5
COUNTED_TABLES = ("audit_log", "order_watches", "handoffs")
OPEN_HANDOFFS = "SELECT count(*) FROM handoffs WHERE state IN ('pending', 'in_flight')"


@dataclass(frozen=True)
class PerOrder:
    """One phase's counts and the rows it added, for `orders` orders."""

    orders: int
    tally: Tally
    rows: dict[str, int]  # table → rows added (audit_log, order_watches, handoffs)
    seconds: float  # how long the phase took (background work ran meanwhile too)


def _gateway(stack: ExitStack, url: str) -> ServerThread:
    """Lianxin with the bench's settings (`bench.world.gateway_settings`), its agencies
    and hotline the loopback sink."""
    from gateway.api.app import create_app

    sink = stack.enter_context(ServerThread(Sink()))
    endpoints = {"tax-12366": f"{sink.url}/orders", "alert-channel": f"{sink.url}/a"}
    settings = Settings(**gateway_settings(url, sink.url, endpoints))
    return stack.enter_context(ServerThread(create_app(settings)))


def _raw(url: str) -> Any:
    """A driver connection outside every pool: the tool's own queries are not counted."""
    if url.startswith("sqlite"):
        return sqlite3.connect(url.removeprefix("sqlite:///"))
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _count(url: str, sql: str) -> int:
    with closing(_raw(url)) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _rows(url: str) -> dict[str, int]:
    return {table: _count(url, f"SELECT count(*) FROM {table}") for table in COUNTED_TABLES}


def _settled(url: str) -> bool:
    """Every handoff (transfers and hotline callbacks) delivered or dead."""
    return _count(url, OPEN_HANDOFFS) == 0


def _send(port: int, tag: str, count: int, concurrency: int, url: str) -> None:
    """Post `count` consults and wait until the outbox has settled."""
    requests = (consult_request(port, f"{tag}-{n}") for n in range(count))
    load = asyncio.run(closed_loop(port, requests, concurrency))
    if len(load.ok) != count:
        raise RuntimeError(f"intake accepted {len(load.ok)} of {count}")
    deadline = time.monotonic() + 120
    while not _settled(url):
        if time.monotonic() > deadline:
            raise TimeoutError("the outbox did not settle in 120 s")
        time.sleep(0.05)
    time.sleep(0.2)  # the last acknowledgement's own follow-up writes


def measure(store: str, orders: int, concurrency: int = 1, idle: float = 1.0) -> PerOrder:
    """Counts of `orders` orders through an in-process Lianxin on a fresh `store` database;
    the idle phase's counts are printed."""
    with tempfile.TemporaryDirectory() as tmp, database(store, Path(tmp)) as url:
        tally = SqlTally(Path(tmp))
        tally.install()
        try:
            with ExitStack() as stack:
                gateway = _gateway(stack, url)
                _send(gateway.port, "W", WARM_UP, 1, url)
                tally.phase("idle")
                time.sleep(idle)
                before = _rows(url)
                tally.phase("orders")
                started = time.perf_counter()
                _send(gateway.port, "S", orders, concurrency, url)
                tally.phase("after")
                took = time.perf_counter() - started
                after = _rows(url)
        finally:
            tally.remove()
        _print_idle(tally.tally("idle"), idle)
        added = {name: after[name] - before[name] for name in after}
        return PerOrder(orders, tally.tally("orders"), added, took)


def _print_idle(idle: Tally, seconds: float) -> None:
    print(
        f"background while idle for {seconds:g} s (before the orders): "
        f"{idle.statements} statements, {idle.commits} commits"
        + (f", {idle.round_trips} round trips" if idle.round_trips is not None else "")
    )


def report(store: str, got: PerOrder, concurrency: int) -> str:
    """The per-order table."""
    n, tally = got.orders, got.tally
    lines = [
        f"{store}: {n} orders end to end in {got.seconds:.1f} s, {concurrency} in flight; "
        "per order:",
        "| count | per order |",
        "|---|---|",
    ]
    cells = [(f"{verb} statements", count) for verb, count in tally.by_group().items()]
    cells += [(f"  of which {verb}", count) for verb, count in tally.others().items()]
    cells += [
        ("all statements", tally.statements),
        ("commits (transactions)", tally.commits),
        ("audit entries written", got.rows["audit_log"]),
        ("watch rows written (order_watches)", got.rows["order_watches"]),
        ("handoff rows written", got.rows["handoffs"]),
    ]
    lines += [f"| {name} | {count / n:.2f} |" for name, count in cells]
    trips = f"{tally.round_trips / n:.2f}" if tally.round_trips is not None else "- (in-process)"
    lines.append(f"| round trips | {trips} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=1, help="orders in flight")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds of the idle phase")
    args = parser.parse_args(argv)
    got = measure(args.store, args.orders, args.concurrency, args.idle)
    print(report(args.store, got, args.concurrency))


if __name__ == "__main__":
    main()
