"""Claim micro-benchmark: latency and SQL statements of one `SqlHandoffs.claim`.

`python -m bench.claim [--store sqlite,postgresql] [--backlog 50000] [--claims 300]`

Twelve agencies with a quota each; one has a backlog of pending handoffs (five per order,
interleaved, behind two delivered ones each, so the FIFO check has history to read), the
others a few due handoffs. Each claim runs in its own transaction, and what it leased is
put back afterwards, so every claim sees the same outbox. Two cases: every agency has a
quota, and the backlogged agency has none (that claim must not read the backlog).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, update

from bench.world import database
from gateway.crypto.sealing import ephemeral_keyring
from gateway.domain.messages import HandoffKind, HandoffState, Lane
from gateway.service.personal_data import Sealing
from gateway.store.migrate import upgrade
from gateway.store.repositories import SqlHandoffs
from gateway.store.schema import handoffs
from gateway.store.sql import create_store_engine

AGENCIES = [f"agency-{n:02d}" for n in range(12)]
BACKLOGGED = AGENCIES[0]
PER_ORDER = 5  # pending handoffs per backlog order
HISTORY = 2  # delivered handoffs before them, per order
OTHERS_DUE = 20  # due handoffs of each other agency
QUOTA = 4
_PUT_BACK = (
    update(handoffs)
    .where(handoffs.c.state == HandoffState.in_flight.value)
    .values(state=HandoffState.pending.value, lease_until=None, lease_owner=None, attempts=0)
)


def _row(n: int, order: str, agency: str, state: HandoffState, at: float) -> dict[str, Any]:
    return {
        "id": f"msg_{agency}_{n}",
        "order_id": order,
        "agency": agency,
        "kind": HandoffKind.transfer.value,
        "lane": Lane.normal.value,
        "body": b"{}",
        "body_digest": "0" * 64,
        "state": state.value,
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }


def _outbox(backlog: int) -> list[dict[str, Any]]:
    """Rows in insertion (seq) order: history, then the backlog, then the other agencies."""
    orders = max(1, backlog // PER_ORDER)
    rows = [
        _row(n, f"wo_{n % orders}", BACKLOGGED, HandoffState.delivered, 0.0)
        for n in range(orders * HISTORY)
    ]
    rows += [
        _row(n, f"wo_{n % orders}", BACKLOGGED, HandoffState.pending, float(n))
        for n in range(orders * HISTORY, orders * HISTORY + backlog)
    ]
    for agency in AGENCIES[1:]:
        rows += [
            _row(n, f"wo_{agency}_{n}", agency, HandoffState.pending, float(n))
            for n in range(OTHERS_DUE)
        ]
    return rows


def _fill(engine: Engine, backlog: int) -> None:
    rows = _outbox(backlog)
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(handoffs), rows[start : start + 5000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE handoffs")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def _measure(
    engine: Engine, quotas: Mapping[str, int], claims: int
) -> tuple[list[float], float | None]:
    """Microseconds per claim (its transaction, COMMIT included), and statements per
    claim as SQLite runs them (None on PostgreSQL, whose driver has no trace hook). The
    claim runs on the driver's cursor, so SQLAlchemy's execute events no longer see it;
    an executemany counts once per row.

    Each claim commits, as the dispatcher's do, and its rows are put back afterwards
    (a rollback would also make psycopg forget its prepared statements)."""
    statements = 0

    def count(_sql: str) -> None:
        nonlocal statements
        statements += 1

    seal, took = Sealing(ephemeral_keyring()), []
    sqlite = engine.dialect.name == "sqlite"
    for _ in range(claims):
        started = time.perf_counter()
        with engine.begin() as conn:  # timed to its COMMIT: the lease may wait for it
            driver = conn.connection.driver_connection
            if sqlite:
                driver.set_trace_callback(count)  # type: ignore[union-attr]
            SqlHandoffs(conn, seal).claim(1e12, quotas, Lane.normal, 2e12, "bench")
            if sqlite:
                driver.set_trace_callback(None)  # type: ignore[union-attr]
        took.append((time.perf_counter() - started) * 1e6)
        with engine.begin() as conn:
            conn.execute(_PUT_BACK)
    return took, statements / claims if sqlite else None


def _report(store: str, case: str, took: list[float], statements: float | None) -> None:
    ordered = sorted(took)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"{store:10} {case:22} median {statistics.median(took):9.0f} µs  "
        f"p95 {p95:9.0f} µs  statements/claim "
        + (f"{statements:5.1f}" if statements is not None else "    -")
    )


def run(store: str, backlog: int, claims: int, workdir: Path) -> None:
    """Fill one fresh database and time both cases on it."""
    with database(store, workdir) as url:
        upgrade(url)
        engine = create_store_engine(url)
        try:
            _fill(engine, backlog)
            every = dict.fromkeys(AGENCIES, QUOTA)
            _measure(engine, every, 20)  # warm caches and prepared statements
            _report(store, "every agency", *_measure(engine, every, claims))
            skipping = {**every, BACKLOGGED: 0}
            _report(store, "backlog agency skipped", *_measure(engine, skipping, claims))
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and print one line per store and case."""
    parser = argparse.ArgumentParser(prog="python -m bench.claim", description=__doc__)
    parser.add_argument("--store", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--claims", type=int, default=300)
    args = parser.parse_args(argv)
    print(f"{len(AGENCIES)} agencies, quota {QUOTA} each, backlog {args.backlog} for one")
    with tempfile.TemporaryDirectory() as tmp:
        for store in (s.strip() for s in args.store.split(",") if s.strip()):
            run(store, args.backlog, args.claims, Path(tmp))


if __name__ == "__main__":
    main()
