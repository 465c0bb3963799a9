"""Soak: a steady open-loop rate for N minutes, printing memory and latency each minute."""

from __future__ import annotations

import asyncio

from bench.loadgen import open_loop
from bench.orders import consult_request
from bench.stats import percentile
from bench.suites import arrival_ms
from bench.world import RssSampler, World, database, workdir


def soak(store: str, minutes: int, rate: float) -> None:
    """Run `rate` consults/s for `minutes`; one line per minute."""
    work = workdir()
    print(f"soak: {store}, {rate:g} orders/s offered, {minutes} min; logs in {work}")
    print(
        "minute | sent | not accepted | delivered | achieved/s | p50 ms | p99 ms | max ms"
        " | RSS MiB | peak"
    )
    with database(store, work) as url, World(url, work) as world:
        _minutes(world, minutes, rate)


def _minutes(world: World, minutes: int, rate: float) -> None:
    with RssSampler(world.gateway.pid, every=1.0) as rss:
        for minute in range(1, minutes + 1):
            _one_minute(world, rss, minute, rate)


def _one_minute(world: World, rss: RssSampler, minute: int, rate: float) -> None:
    port = world.gateway.port
    tag = f"S{minute}"
    load = asyncio.run(open_loop(port, lambda n: consult_request(port, f"{tag}-{n}"), rate, 60.0))
    ms = list(arrival_ms(world, load).values())
    world.sink_control("reset")  # keeps the agency's own memory flat over hours
    now_mib = rss.samples[-1][1] / 2**20
    print(
        f"{minute:6d} | {len(load.sent):4d} | {len(load.sent) - len(load.ok):12d} | "
        f"{len(ms):9d} | {len(ms) / load.wall:10.1f} | "
        f"{percentile(ms, 50):6.1f} | {percentile(ms, 99):6.1f} | {max(ms, default=0):6.1f} | "
        f"{now_mib:7.1f} | {rss.peak_mib:.1f}",
        flush=True,
    )
