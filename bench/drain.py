"""Backlog drain: N handoffs queued while the agency is out, delivered when it is back.

The outage is handled the way docs/operations.md says: the operator pauses the agency,
so its handoffs wait `pending` without burning their retry schedule. The backlog is
written straight into the outbox (sealed bodies, as the store writes them: copies of one
real transfer body with fresh ids), because pushing a million orders through intake
would take longer than the drain itself. Those rows have no work-order row, so the drain
measures claim → sign → deliver → acknowledgement → audit, not the `dispatched` move and
its hotline callback. While it drains, emergencies go to 119 at a steady rate.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, func, insert, select

from bench.orders import consult
from bench.stats import percentile
from bench.suites import Latency, emergencies
from bench.world import RssSampler, World, engine_for, sink_count
from gateway.crypto.sealing import data_keyring
from gateway.service.personal_data import open_body, seal_body
from gateway.store.schema import handoffs

AGENCY = "tax-12366"
PROGRESS_EVERY = 60.0  # seconds between progress lines during a long drain


@dataclass(frozen=True)
class Drain:
    """How fast the backlog went, what emergencies saw meanwhile, the gateway's memory."""

    backlog: int
    rate: float
    emergency: Latency
    rss_start_mib: float
    rss_peak_mib: float
    rss_end_mib: float


def _admin(world: World, verb: str) -> None:
    url = f"{world.gateway.url}/v1/admin/agencies/{AGENCY}/{verb}"
    httpx.post(url, json={"reason": "benchmark outage"}, timeout=30).raise_for_status()


def _template(world: World) -> tuple[str, str, bytes]:
    """(handoff id, order id, plain body) of one real transfer, queued while paused."""
    url = f"{world.gateway.url}/v1/work-orders"
    httpx.post(url, json=consult("DRAIN-TEMPLATE"), timeout=30).raise_for_status()
    engine = create_engine(world.database_url)
    with engine.connect() as conn:
        row = conn.execute(
            select(handoffs.c.id, handoffs.c.order_id, handoffs.c.body).where(
                handoffs.c.agency == AGENCY, handoffs.c.state == "pending"
            )
        ).first()
    engine.dispose()
    assert row is not None, "the template transfer was not queued"
    cipher = data_keyring(_data_keys(world))
    return row.id, row.order_id, open_body(row.id, row.body, cipher)


def _data_keys(world: World) -> list[str]:
    return list(json.loads(world.env["LIANXIN_DATA_KEYS"]))


def queue_backlog(world: World, count: int) -> None:
    """`count` due transfers to the paused agency, written in batches of 10,000."""
    template_id, template_order, body = _template(world)
    cipher = data_keyring(_data_keys(world))
    engine = create_engine(world.database_url)
    now = time.time()
    for start in range(0, count, 10_000):
        rows = []
        for n in range(start, min(count, start + 10_000)):
            hid, oid = f"msg_backlog_{n:08d}", f"wo_backlog_{n:08d}"
            plain = body.replace(template_id.encode(), hid.encode()).replace(
                template_order.encode(), oid.encode()
            )
            rows.append(
                {
                    "id": hid,
                    "order_id": oid,
                    "agency": AGENCY,
                    "kind": "transfer",
                    "lane": "normal",
                    "body": seal_body(hid, plain, cipher),
                    "body_digest": "0" * 64,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(handoffs), rows)
    engine.dispose()


def waiting(url: str) -> int:
    """Handoffs to the agency not yet delivered."""
    query = select(func.count()).where(
        handoffs.c.agency == AGENCY, handoffs.c.state.in_(["pending", "in_flight"])
    )
    with engine_for(url).connect() as conn:
        return int(conn.execute(query).scalar_one())


def _wait_drained(world: World, backlog: int, before: int, rss: RssSampler) -> None:
    """Until nothing is left for the agency; a progress line on stderr every minute.

    Polls the agency's counter, which costs nothing, until the backlog could have
    arrived, and only then the outbox: counting a million-row outbox every half second
    took CPU from the gateway being measured."""
    last_at, last_got = time.perf_counter(), 0
    while (got := sink_count(world.sink.url) - before) < backlog:
        time.sleep(0.5)
        if time.perf_counter() - last_at >= PROGRESS_EVERY:
            rate = (got - last_got) / (time.perf_counter() - last_at)
            rss_mib = rss.samples[-1][1] / 2**20 if rss.samples else 0.0
            print(
                f"drain: {got:,} of {backlog:,} delivered, {rate:.0f}/s in the last minute, "
                f"gateway RSS {rss_mib:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
            last_at, last_got = time.perf_counter(), got
    while waiting(world.database_url) > 0:
        time.sleep(0.5)


def drain(world: World, count: int, emergency_rate: float = 5.0) -> Drain:
    """Pause, queue `count`, resume; time the drain while emergencies keep coming."""
    with RssSampler(world.gateway.pid) as rss:
        _admin(world, "pause")
        queue_backlog(world, count)
        start_rss = rss.samples[-1][1] / 2**20 if rss.samples else 0.0
        backlog, before = waiting(world.database_url), sink_count(world.sink.url)
        _admin(world, "resume")
        started = time.perf_counter()
        result: dict[str, Latency] = {}
        stop = threading.Event()
        sender = threading.Thread(
            target=_emergency_waves, args=(world, emergency_rate, stop, result)
        )
        sender.start()
        _wait_drained(world, backlog, before, rss)
        elapsed = time.perf_counter() - started
        stop.set()
        sender.join()
    end_rss = rss.samples[-1][1] / 2**20
    return Drain(backlog, backlog / elapsed, result["emergency"], start_rss, rss.peak_mib, end_rss)


def _emergency_waves(
    world: World, rate: float, stop: threading.Event, result: dict[str, Latency]
) -> None:
    """Emergencies in 2-second waves until the drain ends; latencies pooled."""
    ms: list[float] = []
    sent, started = 0, time.perf_counter()
    while not stop.is_set():
        got, count = emergencies(world, rate, 2.0, f"EM-{time.time_ns()}")
        ms += got
        sent += count
    achieved = len(ms) / (time.perf_counter() - started)
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    result["emergency"] = Latency(rate, achieved, p50, p99, sent - len(ms))
