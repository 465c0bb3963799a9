"""Round trips and commits per order on PostgreSQL, in one process with the real SqlStore:
orders through intake and delivery to memory connectors, until the hotline heard of each.

    .venv/bin/python -m tests.e2e.round_trips [ORDERS] [CONCURRENCY]

Counts what the driver sends on every connection (psycopg, patched for the run): a
statement run outside a pipeline is one round trip, a pipeline is one (its sync), a
commit not sent in a pipeline already is one. Background work (checkpoints, the deadline
watch, claims that find nothing) is counted too, so the figures are per order of the
whole gateway, not of intake alone.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.memory import MemoryConnector
from gateway.bootstrap import bootstrap
from gateway.domain.workorder import WorkOrderIn
from tests.conftest import POSTGRES_URL
from tests.integration.api.helpers import order
from tests.integration.evidence.trail import every_agency, settings_for

COUNTS: Counter[str] = Counter()
STATEMENTS: Counter[str] = Counter()  # statements sent alone, by their start
_LOCK = threading.Lock()


def _count(kind: str) -> None:
    with _LOCK:
        COUNTS[kind] += 1


@contextmanager
def counting() -> Iterator[None]:
    """Count statements outside pipelines, pipelines and commits on every connection."""
    cursor, pipeline, connection = psycopg.Cursor, psycopg.Pipeline, psycopg.Connection
    saved = (cursor.execute, cursor.executemany, pipeline.__exit__, connection.commit)

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if self.connection._pipeline is None:
            _count("statements")
            STATEMENTS[str(query)[:60]] += 1
        return saved[0](self, query, *args, **kwargs)

    def executemany(self: Any, *args: Any, **kwargs: Any) -> Any:
        return saved[1](self, *args, **kwargs)  # it runs in a pipeline: counted there

    def exit_pipeline(self: Any, *args: Any) -> Any:
        _count("pipelines")
        return saved[2](self, *args)

    def commit(self: Any) -> Any:
        if self.pgconn.transaction_status != TransactionStatus.IDLE:  # not sent already
            _count("commits")
        return saved[3](self)

    cursor.execute, cursor.executemany = execute, executemany  # type: ignore[method-assign]
    pipeline.__exit__ = exit_pipeline  # type: ignore[method-assign]
    connection.commit = commit  # type: ignore[method-assign]
    try:
        yield
    finally:
        cursor.execute, cursor.executemany, pipeline.__exit__, connection.commit = saved  # type: ignore[method-assign]


async def run(url: str, orders: int, concurrency: int, work: Path) -> float:
    """Seconds from the first order in to the hotline hearing of the last."""
    small = settings_for(url, work / "witness.jsonl")  # checkpoints as deployed, below
    settings = small.model_copy(update={"checkpoint_entries": 10_000, "checkpoint_interval": 10.0})
    fakes = {name: MemoryConnector(name) for name in every_agency(settings)}
    gw = bootstrap(settings, connector_overrides=fakes)
    gw.start()
    queue = [WorkOrderIn.model_validate(order(f"RT-{n}")) for n in range(orders)]

    async def submitter() -> None:
        while queue:
            submitted = queue.pop()
            await gw.store.write(lambda uow, s=submitted: gw.intake.accept(uow, s))
            gw.dispatcher.wake_all()

    started = time.perf_counter()
    with counting():
        await asyncio.gather(*(submitter() for _ in range(concurrency)))
        while len(fakes["hotline"].delivered) < orders:
            await asyncio.sleep(0.01)
        took = time.perf_counter() - started
    await gw.aclose()
    return took


def main(orders: int, concurrency: int) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"lianxin_trips_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as work:
            took = asyncio.run(run(url, orders, concurrency, Path(work)))
        trips = COUNTS["statements"] + COUNTS["pipelines"] + COUNTS["commits"]
        print(
            f"{orders} orders, {concurrency} at a time: {took:.2f} s ({orders / took:.0f}/s); "
            f"per order {trips / orders:.1f} round trips ({COUNTS['statements'] / orders:.1f} "
            f"statements alone, {COUNTS['pipelines'] / orders:.1f} pipelines, "
            f"{COUNTS['commits'] / orders:.2f} commits)"
        )
        if "-v" in sys.argv:
            for statement, n in STATEMENTS.most_common(12):
                print(f"  {n / orders:5.2f} per order alone: {statement}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:] if a != "-v"]
    main(*(args + [500, 16][len(args) :]))
