"""How long `read_health` takes over a large outbox and audit trail.

    python -m bench.health DATABASE_URL [--handoffs 200000]

Fills an EMPTY throw-away database (it refuses one that has handoffs) with `--handoffs`
handoffs created evenly over the last 24 hours, 97 % delivered, 2 % pending, 1 % dead,
each with four audit entries (mapped, signed, sent, then acknowledged / failed /
dead_lettered), bulk-inserted with placeholder hashes (the chain is not what is timed).
Then times `read_health` five times for a 1-hour and a 24-hour window.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from sqlalchemy import func, insert, select, update

import connectors
from gateway.bootstrap import open_sql_store
from gateway.mapping.loader import load_mappings
from gateway.service.directory import Directory
from gateway.service.views.health import read_health
from gateway.settings import REPO_ROOT
from gateway.store.migrate import upgrade
from gateway.store.schema import audit_head, audit_log, handoffs
from gateway.store.sql import SqlStore

DAY = 86_400.0
CHUNK = 20_000
OUTCOME = {"delivered": "acknowledged", "dead": "dead_lettered", "pending": "failed"}


def rows(
    agencies: list[str], n: int, now: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`n` handoffs over the last day and their audit entries, in time order."""
    outbox: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for k in range(n):
        created = now - DAY + DAY * k / n
        state = random.choices(["delivered", "pending", "dead"], [0.97, 0.02, 0.01])[0]
        agency, done = random.choice(agencies), min(created + random.uniform(0.01, 2.0), now)
        outbox.append(
            {
                "id": f"msg_{k}",
                "order_id": f"wo_{k}",
                "agency": agency,
                "kind": "transfer",
                "lane": "normal",
                "body": b"x",
                "body_digest": "0" * 64,
                "state": state,
                "attempts": 1,
                "next_attempt_at": created,
                "created_at": created,
                "delivered_at": done if state == "delivered" else None,
            }
        )
        for event in ("mapped", "signed", "sent", OUTCOME[state]):
            error = '{"error":"HTTP 503"}' if event == "failed" else "{}"
            audit.append(
                {
                    "seq": len(audit) + 1,
                    "at_us": int(done * 1e6),
                    "event": event,
                    "order_id": f"wo_{k}",
                    "handoff_id": f"msg_{k}",
                    "party": agency,
                    "detail": error,
                    "prev_hash": "0" * 64,
                    "entry_hash": "0" * 64,
                }
            )
    return outbox, audit


def fill(store: SqlStore, directory: Directory, n: int) -> None:
    """Bulk-insert the rows, move the audit head, refresh PostgreSQL's statistics."""
    outbox, audit = rows(sorted(directory.profiles), n, time.time())
    with store.engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(handoffs)).scalar_one():
            raise SystemExit("the database already has handoffs: give an empty one")
        for table, batch in ((handoffs, outbox), (audit_log, audit)):
            for first in range(0, len(batch), CHUNK):
                conn.execute(insert(table), batch[first : first + CHUNK])
        conn.execute(update(audit_head).values(seq=len(audit)))
    if not store.is_sqlite:  # as autovacuum would after a bulk load
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    print(f"filled: {len(outbox)} handoffs, {len(audit)} audit entries")


def time_reads(store: SqlStore, directory: Directory, window: float) -> None:
    """Five reads of every agency's health over `window`; the fastest and slowest."""
    took: list[float] = []
    delivered = 0
    for _ in range(5):
        started = time.perf_counter()
        found = store.run_sync(
            lambda uow: read_health(uow, directory, {}, time.time(), window), writes=False
        )
        took.append(time.perf_counter() - started)
        delivered = sum(h.delivered for h in found)
    print(
        f"window {window:.0f} s: read_health {min(took) * 1000:.0f}-{max(took) * 1000:.0f} ms "
        f"(5 runs), {delivered} deliveries in the window"
    )


def main() -> None:
    """Fill the database and time the reads."""
    parser = argparse.ArgumentParser(prog="python -m bench.health", description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--handoffs", type=int, default=200_000)
    args = parser.parse_args()
    upgrade(args.database_url)
    mappings = load_mappings(
        REPO_ROOT / "mappings", "routing/catalogue.toml", connectors.TRANSPORTS
    )
    directory = Directory.from_mappings(mappings)
    store = open_sql_store(args.database_url)
    try:
        fill(store, directory, args.handoffs)
        for window in (3600.0, DAY):
            time_reads(store, directory, window)
    finally:
        store.engine.dispose()


if __name__ == "__main__":
    main()
