"""What one serialised audit chain costs: audit-writing transactions per second from one
writer, and from four writers in two stores (as two processes have), on PostgreSQL.

    .venv/bin/python -m tests.e2e.audit_cost [TRANSACTIONS]

Each transaction appends the ten entries of a typical delivery outcome batch. With one
chain, every writing transaction holds the head row's lock until it commits, so more
writers do not add throughput; the figure says how much the design gives up.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.bootstrap import open_sql_store
from gateway.domain.audit import AuditEvent
from gateway.service.audit import verify_chain
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore
from tests.conftest import POSTGRES_URL

ENTRIES = 10


def append(uow: UnitOfWork) -> None:
    for n in range(ENTRIES):
        uow.audit.append(AuditEvent("sent", order_id="wo_cost", detail={"n": n}))


def rate(stores: list[SqlStore], threads_per_store: int, transactions: int) -> float:
    """Transactions per second with `threads_per_store` writers on each store."""
    per_thread = transactions // (len(stores) * threads_per_store)

    def work(store: SqlStore) -> None:
        for _ in range(per_thread):
            store.run_sync(append)

    threads = [
        threading.Thread(target=work, args=(store,))
        for store in stores
        for _ in range(threads_per_store)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_thread * len(threads) / (time.perf_counter() - started)


def unlocked_rate(url: str, writers: int, transactions: int) -> float:
    """The same inserts into a table without a head row: what per-writer chains could reach."""
    engine = create_engine(url, pool_size=writers)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch (id bigserial primary key, detail text)"))
    per_thread = transactions // writers

    def work() -> None:
        for _ in range(per_thread):
            with engine.begin() as conn:
                for n in range(ENTRIES):
                    conn.execute(text("INSERT INTO scratch (detail) VALUES (:d)"), {"d": str(n)})

    threads = [threading.Thread(target=work) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    engine.dispose()
    return per_thread * writers / took


def main(transactions: int) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"lianxin_cost_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        stores = [open_sql_store(url), open_sql_store(url)]
        one = rate(stores[:1], 1, transactions)
        four = rate(stores, 2, transactions)
        with stores[0].audit_snapshot() as (head, records):
            report = verify_chain(records, head)
        for store in stores:
            store.engine.dispose()
        unlocked = unlocked_rate(
            url.replace("postgresql://", "postgresql+psycopg://"), 4, transactions
        )
        print(
            f"{transactions} transactions of {ENTRIES} entries: 1 writer {one:.0f}/s, "
            f"4 writers in 2 stores {four:.0f}/s; chain ok={report.ok} ({report.entries}); "
            f"4 writers without a head row {unlocked:.0f}/s"
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
