"""CPU per order of the gateway's hot JSON and HTTP work, in process (no sockets, no agency).

`python -m bench.hot_path [--orders N] [--rounds R] [--only NAME …] [--store sqlite|postgresql]`
measures, with the process's CPU clock (every thread: the store's writer too), in µs per
order:

- `intake`: a work-order POST through the whole ASGI app (rate limits, body limit,
  FastAPI, intake, one SQLite transaction), driven by direct ASGI calls on a gateway
  bootstrapped on a fresh SQLite file (its dispatcher not started: nothing is delivered);
- `api`: the same POST through the whole app to an intake that stores nothing (the HTTP
  side of intake: limits, FastAPI, the body's validation, the answer);
- `middleware`: RateLimits and BodyLimit in front of an app that answers 204 (net: the
  same calls straight to that app are measured too, and taken off);
- `render`: intake's own work per new order without the store and HTTP: the public
  `Intake.accept` on a unit of work that keeps nothing (routing, deadlines, the order's
  JSON dump and digest, the transfers rendered, encoded and digested, the `received`
  entry linked);
- `sign`: the Standard Webhooks headers of one delivery (one Ed25519 signature);
- `deliver`: everything after intake for an order, over real loopback HTTP: a gateway on
  a fresh SQLite file takes N orders in with its dispatcher stopped, then the dispatcher
  alone runs (claims, signing, the transfer's POST, its outcome recorded, the order moved
  to dispatched, the hotline's status callback queued, claimed, POSTed and recorded)
  until no handoff is open. The agency and hotline are the loopback sink (`bench.sink`)
  in a child process, whose CPU is not counted.

`--store postgresql` runs `intake` and `deliver` on a PostgreSQL database made fresh for
the run (`bench.world.database`: the local server, or LIANXIN_BENCH_POSTGRES_URL) instead
of a SQLite file, and prints beside them the CPU the server's backends for that database
spent meanwhile (from /proc, so only for a server on this machine).

Each figure is the median of R rounds. The machine's other load shows in every figure:
compare runs made side by side (before and after a change, alternating).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextvars import copy_context
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.orders import INTAKE, consult
from bench.world import POSTGRES_ADMIN_URL, database
from gateway.crypto.signing import MessageSigner, generate_ed25519_key, parse_signing_key
from gateway.domain.workorder import WorkOrderIn
from gateway.service.orders.intake import IntakeResult

Step = Callable[[int], object]


Clock = Callable[[], float]  # seconds of CPU spent so far by something


def cpu_per_call(step: Step, calls: int, rounds: int, server: Clock | None = None) -> float:
    """The median over `rounds` of the CPU µs per call of `step(i)`, `calls` calls a round
    (of this process; with `server`, the database server's medians are noted in SERVER)."""
    samples, offset = [], 0
    spent_by_server = []
    for _ in range(rounds):
        start, server_start = time.process_time(), server() if server else 0.0
        for i in range(calls):
            step(offset + i)
        samples.append((time.process_time() - start) / calls * 1e6)
        if server is not None:
            spent_by_server.append((server() - server_start) / calls * 1e6)
        offset += calls
    if spent_by_server:
        SERVER.append(statistics.median(spent_by_server))
    return statistics.median(samples)


SERVER: list[float] = []  # the server's µs per order of each PostgreSQL figure, in turn


# -- the ASGI calls -------------------------------------------------------------------


def request_scope(path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """An HTTP scope like uvicorn's for a JSON POST to `path`."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, scope: dict[str, Any], body: bytes) -> int:
    """The status `app` answers to one request carrying `body`."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # a client that has nothing more to say
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


# -- the benchmarks -------------------------------------------------------------------


@contextlib.contextmanager
def built_app(agency_url: str = "http://127.0.0.1:9", store: str = "sqlite") -> Iterator[Any]:
    """The API app on a bootstrapped gateway over a fresh database of `store`'s kind (not
    started); every agency's endpoint and the hotline's under `agency_url` (nobody listens
    by default)."""
    from bench.world import gateway_settings
    from gateway.api.app import create_app
    from gateway.bootstrap import bootstrap
    from gateway.settings import Settings
    from gateway.world import AGENCIES

    with tempfile.TemporaryDirectory() as tmp, database(store, Path(tmp)) as url:
        endpoints = {agency: f"{agency_url}/orders" for agency in AGENCIES}
        endpoints["alert-channel"] = f"{agency_url}/alerts"
        settings = Settings(**gateway_settings(url, agency_url, endpoints))
        gateway = bootstrap(settings)
        app = create_app(settings, gateway=gateway)
        app.state.gateway = gateway
        try:
            yield app
        finally:
            asyncio.run(gateway.store.aclose())


def server_clock(app: Any) -> Clock | None:
    """The CPU seconds the backends serving the app's PostgreSQL database have spent (None
    on SQLite, which runs in this process). Backends are found anew on each reading: the
    pool opens connections as it needs them, and one that ended is no longer counted (the
    store keeps its connections: a round's figures see the same backends)."""
    engine = app.state.gateway.store.engine
    if engine.dialect.name != "postgresql":
        return None
    name = engine.url.database
    ticks = os.sysconf("SC_CLK_TCK")
    admin = create_engine(POSTGRES_ADMIN_URL, poolclass=NullPool)

    def spent() -> float:
        with admin.connect() as conn:
            pids = conn.execute(BACKENDS, {"name": name}).scalars().all()
        return sum(_cpu_ticks(pid) for pid in pids) / ticks

    return spent


BACKENDS = text("SELECT pid FROM pg_stat_activity WHERE datname = :name")


def _cpu_ticks(pid: int) -> int:
    """User and system clock ticks of process `pid` (0 if it has ended or is not here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def bench_intake(orders: int, rounds: int, store: str = "sqlite") -> float:
    """µs of CPU per work-order POST through the whole app."""
    loop = asyncio.new_event_loop()
    with built_app(store=store) as app:
        prefix = f"hot-{time.time_ns()}"

        def step(i: int) -> None:
            body = json.dumps(consult(f"{prefix}-{i}"), ensure_ascii=False).encode()
            scope = request_scope(INTAKE, body, [])
            status = loop.run_until_complete(call(app, scope, body))
            if status != 202:
                raise SystemExit(f"intake answered {status}")

        step(-1)  # warm: first-use imports and caches
        try:
            return cpu_per_call(step, orders, rounds, server_clock(app))
        finally:
            loop.close()


def bench_api(orders: int, rounds: int) -> float:
    """µs of CPU per work-order POST through the whole app to an intake that stores
    nothing (it answers the first order's result): the HTTP side of intake alone."""
    loop = asyncio.new_event_loop()
    with built_app() as app:
        intake = app.state.gateway.intake
        first = consult(f"hot-{time.time_ns()}")
        body = json.dumps(first, ensure_ascii=False).encode()
        stored = loop.run_until_complete(call(app, request_scope(INTAKE, body, []), body))
        again = WorkOrderIn.model_validate(first)
        result: IntakeResult = loop.run_until_complete(intake.submit(again))
        if stored != 202 or result.created:
            raise SystemExit(f"intake answered {stored}")

        async def answered(submitted: WorkOrderIn) -> IntakeResult:
            return replace(result, created=True)

        intake.submit = answered

        def step(i: int) -> None:
            scope = request_scope(INTAKE, body, [])
            if loop.run_until_complete(call(app, scope, body)) != 202:
                raise SystemExit("intake refused")

        try:
            return cpu_per_call(step, orders, rounds)
        finally:
            loop.close()


def bench_middleware(orders: int, rounds: int) -> float:
    """µs of CPU per request through RateLimits and BodyLimit to an app answering 204."""
    from gateway.api.auth import TokenBook
    from gateway.api.limits import BodyLimit
    from gateway.api.rate_limits import RateLimits
    from gateway.settings import Settings

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    book = TokenBook(Settings(open_api=True))
    app = RateLimits(BodyLimit(inner, max_bytes=1_048_576), book=book, limits={})
    body = json.dumps(consult("hot-1"), ensure_ascii=False).encode()
    scope = request_scope("/v1/work-orders", body, [(b"authorization", b"Bearer " + b"t" * 32)])
    loop = asyncio.new_event_loop()

    def through(target: Any) -> Step:
        return lambda _: loop.run_until_complete(call(target, dict(scope), body))

    try:  # net of the harness's own cost (the loop, the call, the inner app)
        return cpu_per_call(through(app), orders, rounds) - cpu_per_call(
            through(inner), orders, rounds
        )
    finally:
        loop.close()


def bench_render(orders: int, rounds: int) -> float:
    """µs of CPU for intake's own work per new order, without the store and HTTP: the
    public `Intake.accept` on a unit of work that keeps nothing (`bench.scratch`), so
    routing, deadlines, the order's JSON dump and digest, each transfer rendered, encoded
    and digested, and the `received` entry linked, as intake does them today. The
    submissions are validated beforehand (that is the `api` figure's work)."""
    from bench.scratch import ScratchUnitOfWork

    with built_app() as app:
        intake = app.state.gateway.intake
    prefix = f"hot-{time.time_ns()}"
    submitted = [
        WorkOrderIn.model_validate(consult(f"{prefix}-{i}")) for i in range(orders * rounds + 1)
    ]

    def step(i: int) -> None:
        # in a context of its own, as the store runs a unit: what intake binds for its
        # log lines stays there
        if not copy_context().run(intake.accept, ScratchUnitOfWork(), submitted[i]).created:
            raise SystemExit("intake created no order")

    step(orders * rounds)  # warm: first-use imports and caches
    return cpu_per_call(step, orders, rounds)


def bench_sign(orders: int, rounds: int) -> float:
    """µs of CPU for one delivery's signed headers (one Ed25519 key)."""
    signer = MessageSigner([parse_signing_key(generate_ed25519_key())])
    body = json.dumps(consult("hot-1"), ensure_ascii=False).encode()
    return cpu_per_call(lambda i: signer.headers(f"msg_{i}", body), orders * 10, rounds)


OPEN_HANDOFF = "SELECT 1 FROM handoffs WHERE state IN ('pending', 'in_flight') LIMIT 1"


@contextlib.contextmanager
def loopback_sink() -> Iterator[str]:
    """The loopback agency (`bench.sink`) in a child process; its URL."""
    from bench.world import free_port, python_child

    with tempfile.TemporaryDirectory() as tmp:
        sink = python_child("bench.sink", free_port(), Path(tmp) / "sink.log")
        try:
            sink.wait_ready("/counts")
            yield sink.url
        finally:
            sink.stop()


async def take_in(gateway: Any, orders: list[WorkOrderIn]) -> None:
    """Store and route `orders` (their handoffs queued; nothing is delivered)."""
    for submitted in orders:
        await gateway.intake.submit(submitted)


async def deliver_all(gateway: Any, server: Clock | None = None) -> tuple[float, float]:
    """Run the dispatcher alone until no handoff is open: the CPU seconds that took (every
    thread of this process), and those the database server spent meanwhile (0 without
    `server`). Refused unless every handoff was delivered."""

    def still_open(uow: Any) -> bool:
        return uow.conn.exec_driver_sql(OPEN_HANDOFF).first() is not None

    start, server_start = time.process_time(), server() if server else 0.0
    running = asyncio.create_task(gateway.dispatcher.run())
    while await gateway.store.read(still_open):
        await asyncio.sleep(0.02)
    spent = time.process_time() - start
    server_spent = server() - server_start if server else 0.0
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    states = await gateway.store.read(lambda uow: uow.handoffs.count_by_state())
    if set(states) != {"delivered"}:  # a refusal or a retry would measure something else
        raise SystemExit(f"not every handoff was delivered: {states}")
    return spent, server_spent


async def delivered_all(
    gateway: Any, orders: list[WorkOrderIn], server: Clock | None = None
) -> tuple[float, float]:
    """Take `orders` in with the dispatcher stopped, then the CPU seconds of delivering
    them all (`deliver_all`)."""
    await take_in(gateway, orders)
    return await deliver_all(gateway, server)


def bench_deliver(orders: int, rounds: int, store: str = "sqlite") -> float:
    """µs of CPU per order for its delivery: the transfer and the hotline's callback,
    each claimed, signed, POSTed to the loopback sink and recorded."""
    loop = asyncio.new_event_loop()
    with loopback_sink() as url, built_app(url, store) as app:
        gateway = app.state.gateway
        prefix = f"hot-{time.time_ns()}"

        def batch(round_: int, n: int) -> list[WorkOrderIn]:
            return [WorkOrderIn.model_validate(consult(f"{prefix}-{round_}-{i}")) for i in range(n)]

        try:
            loop.run_until_complete(delivered_all(gateway, batch(-1, 20)))  # warm
            server = server_clock(app)
            spent = [
                loop.run_until_complete(delivered_all(gateway, batch(r, orders), server))
                for r in range(rounds)
            ]
            for connector in gateway.connectors.values():
                loop.run_until_complete(connector.aclose())
        finally:
            loop.close()
    if server is not None:
        SERVER.append(statistics.median(s for _, s in spent) / orders * 1e6)
    return statistics.median(g for g, _ in spent) / orders * 1e6


BENCHES: dict[str, Callable[..., float]] = {
    "middleware": bench_middleware,
    "render": bench_render,
    "sign": bench_sign,
    "api": bench_api,
    "intake": bench_intake,
    "deliver": bench_deliver,
}
ON_A_STORE = ("intake", "deliver")  # the benchmarks `--store` applies to


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hot_path", description=__doc__)
    parser.add_argument("--orders", type=int, default=500, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHES), default=None)
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the database of `intake` and `deliver` (PostgreSQL: a fresh one, dropped after)",
    )
    args = parser.parse_args(argv)
    for name in args.only or BENCHES:
        on_store = {"store": args.store} if name in ON_A_STORE else {}
        per_order = BENCHES[name](args.orders, args.rounds, **on_store)
        server = f" (+ {SERVER.pop():.1f} in the server)" if SERVER else ""
        print(f"{name:<11} {per_order:9.1f} µs CPU per order{server}", flush=True)


if __name__ == "__main__":
    main()
