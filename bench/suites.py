"""The benchmarks themselves: each returns figures measured against a running World."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil
from sqlalchemy import func, select

from bench.loadgen import LoadResult, closed_loop, open_loop
from bench.orders import consult_request, emergency_request
from bench.stats import percentile
from bench.world import Child, engine_for, free_port, python_child

_runs = itertools.count(1)


@dataclass(frozen=True)
class Throughput:
    """Orders per second, intake to recorded acknowledgement, and the generator's load."""

    rate: float
    intake_rate: float
    generator_cpu: float
    server_cpu: float = 0.0  # the server processes' CPU seconds per second of the run
    machine_busy: float = 0.0  # the whole machine's: the share of all its cores' time in use

    @property
    def cpu_ms_per_order(self) -> float:
        """The server processes' CPU milliseconds per order (0 when not measured)."""
        return 1000 * self.server_cpu / self.rate if self.rate else 0.0


@dataclass(frozen=True)
class Latency:
    """Intake → agency latency at one offered rate."""

    offered: float
    achieved: float
    p50_ms: float
    p99_ms: float
    lost: int


def delivered_transfers(url: str) -> int:
    """Transfers whose acknowledgement is recorded (with its audit entries)."""
    from gateway.store.schema import handoffs

    query = select(func.count()).where(
        handoffs.c.kind == "transfer", handoffs.c.state == "delivered"
    )
    with engine_for(url).connect() as conn:
        return int(conn.execute(query).scalar_one())


def open_handoffs(url: str) -> int:
    """Handoffs not yet delivered or dead (callbacks to the hotline included)."""
    from gateway.store.schema import handoffs

    query = select(func.count()).where(handoffs.c.state.in_(["pending", "in_flight"]))
    with engine_for(url).connect() as conn:
        return int(conn.execute(query).scalar_one())


def wait_idle(url: str, timeout: float = 600) -> None:
    """Until the outbox is empty: each benchmark starts on an idle gateway."""
    deadline = time.monotonic() + timeout
    while open_handoffs(url) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"outbox still holds {open_handoffs(url)} after {timeout}s")
        time.sleep(0.2)


POLL = 0.1  # seconds between counts while the end is far off
POLL_NEAR = 0.005  # and once it is near: a run of 0.3 s is timed to a few ms, not 0.1 s
NEAR = 0.25  # seconds: the end is near when the rate between the last two counts would
# reach it within this


def wait_for(
    check: Callable[[], int],
    target: int,
    timeout: float,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Poll `check()` until it reaches `target`; the `clock` time it did.

    Counts every `POLL` seconds (each count is a query the machine under test serves
    too), then every `POLL_NEAR` once the end is near: the end of a short run is not
    rounded up by most of a poll."""
    count, at, rate = check(), clock(), None
    deadline = at + timeout
    while count < target:
        if at > deadline:
            raise TimeoutError(f"only {count} of {target} after {timeout}s")
        # the first poll is a near one: a run whose end is within one slow poll is
        # still timed closely (no rate is known before a second count)
        near = rate is None or (rate > 0 and (target - count) / rate < NEAR)
        sleep(POLL_NEAR if near else POLL)
        before, since = count, at
        count, at = check(), clock()
        rate = (count - before) / (at - since)
    return at


class Target(Protocol):
    """Something with an intake (`gateway`) whose agency notes arrivals: World or PeerWorld."""

    gateway: Child

    @property
    def ports(self) -> list[int]: ...

    def arrivals(self, flow_ids: list[str]) -> dict[str, float]: ...

    def server_pids(self) -> list[int]: ...


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes and their children."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            for each in [process, *process.children(recursive=True)]:
                times = each.cpu_times()
                total += times.user + times.system
    return total


def machine_busy(before: Any, after: Any) -> float:
    """The share of all cores' time in use between two `psutil.cpu_times()` (idle and
    waiting on I/O count as free): how near the machine was to its own ceiling."""
    free = (after.idle - before.idle) + (getattr(after, "iowait", 0) - getattr(before, "iowait", 0))
    total = _all_time(after) - _all_time(before)
    return 1 - free / total if total > 0 else 0.0


def _all_time(times: Any) -> float:
    """All the cores' time in `psutil.cpu_times()`: Linux counts its guest time in user
    (and nice) already, so it is left out."""
    counted = times._asdict()
    return float(sum(v for name, v in counted.items() if name not in ("guest", "guest_nice")))


def throughput(
    target: Target, orders: int, concurrency: int, delivered: Callable[[], int]
) -> Throughput:
    """Post `orders` consults closed-loop; time until `delivered()` has grown by `orders`."""
    tag = f"T{next(_runs)}"
    _warm_up(target, delivered, tag)
    before, cpu = delivered(), cpu_seconds(target.server_pids())
    requests = (consult_request(target.gateway.port, f"{tag}-{n}") for n in range(orders))
    machine, started = psutil.cpu_times(), time.perf_counter()
    load = asyncio.run(closed_loop(target.ports, requests, concurrency))
    if len(load.ok) != orders:
        raise RuntimeError(f"intake accepted {len(load.ok)} of {orders}")
    done = wait_for(lambda: delivered() - before, orders, timeout=600)
    busy = machine_busy(machine, psutil.cpu_times())
    server = (cpu_seconds(target.server_pids()) - cpu) / (done - started)
    return Throughput(orders / (done - started), load.rate, load.cpu_share, server, busy)


def _warm_up(target: Target, delivered: Callable[[], int], tag: str, count: int = 50) -> None:
    """A few orders through the whole flow first: workers up, connections open, caches full."""
    before = delivered()
    warm = (consult_request(target.gateway.port, f"W{tag}-{n}") for n in range(count))
    asyncio.run(closed_loop(target.gateway.port, warm, 4))
    wait_for(lambda: delivered() - before, count, timeout=120)


def ceiling_throughput(workdir: Path, requests: int, concurrency: int) -> Throughput:
    """The same closed loop against the trivial FastAPI endpoint."""
    child = python_child("bench.ceiling", free_port(), workdir / "ceiling.log")
    try:
        child.wait_ready("/docs")
        made = (consult_request(child.port, f"C-{n}") for n in range(requests))
        load = asyncio.run(closed_loop(child.port, made, concurrency))
    finally:
        child.stop()
    return Throughput(load.rate, load.rate, load.cpu_share)


def latency(world: Target, rate: float, seconds: float) -> Latency:
    """Open loop at `rate` consults/s; latency from due time to the agency holding it."""
    tag = f"L{next(_runs)}"
    port = world.gateway.port
    load = asyncio.run(
        open_loop(port, lambda n: consult_request(port, f"{tag}-{n}"), rate, seconds)
    )
    return _arrival_latency(world, load, rate)


def _arrival_latency(world: Target, load: LoadResult, rate: float) -> Latency:
    """Percentiles, and orders held per second from the first due time to the last arrival."""
    by_key = arrival_ms(world, load)
    due = {s.key: s.due_wall for s in load.sent}
    ms = list(by_key.values())
    span = max((due[k] + v / 1000 for k, v in by_key.items()), default=0.0) - min(due.values())
    achieved = len(ms) / span if span > 0 else 0.0
    lost = len(load.sent) - len(ms)
    return Latency(rate, achieved, percentile(ms, 50), percentile(ms, 99), lost)


def arrival_ms(world: Target, load: LoadResult, patience: float = 20.0) -> dict[str, float]:
    """Milliseconds from each accepted order's due time to the agency holding it, by key.

    Waits while arrivals keep coming; an order still missing after `patience` seconds
    without progress counts as lost."""
    wanted = {s.key: s.due_wall for s in load.ok}
    seen, last_progress = -1, time.monotonic()
    while True:
        arrivals = world.arrivals(list(wanted))
        held = sum(1 for k in wanted if k in arrivals)
        if held == len(wanted) or time.monotonic() - last_progress > patience:
            break
        if held > seen:
            seen, last_progress = held, time.monotonic()
        time.sleep(0.2)
    return {k: (arrivals[k] - due) * 1000 for k, due in wanted.items() if k in arrivals}


def ceiling_latency(workdir: Path, rate: float, seconds: float) -> Latency:
    """The trivial endpoint's response latency at the same offered rate."""
    child = python_child("bench.ceiling", free_port(), workdir / "ceiling.log")
    try:
        child.wait_ready("/docs")
        port = child.port
        load = asyncio.run(
            open_loop(port, lambda n: consult_request(port, f"CL-{n}"), rate, seconds)
        )
    finally:
        child.stop()
    ms = [s.seconds * 1000 for s in load.ok]
    lost = len(load.sent) - len(ms)
    return Latency(rate, load.rate, percentile(ms, 50), percentile(ms, 99), lost)


def emergencies(world: Target, rate: float, seconds: float, tag: str) -> tuple[list[float], int]:
    """Emergency orders at `rate`/s: ms from due time to 119 holding each, and how many sent."""
    port = world.gateway.port
    load = asyncio.run(
        open_loop(port, lambda n: emergency_request(port, f"{tag}-{n}"), rate, seconds)
    )
    return list(arrival_ms(world, load).values()), len(load.sent)
