"""The audit chain with several writers at once, as when two gateway processes share a
database: one gapless chain, and a verification that runs while they write."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from gateway.bootstrap import open_sql_store
from gateway.domain.audit import AuditEvent
from gateway.service.audit import verify_chain
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

WRITERS = 4  # two stores (like two processes), two threads each
TRANSACTIONS = 60
ENTRIES = 3  # per transaction


@pytest.fixture
def stores(database_url: str) -> Iterator[list[SqlStore]]:
    upgrade(database_url)
    opened = [open_sql_store(database_url), open_sql_store(database_url)]
    yield opened
    for store in opened:
        store.engine.dispose()


def append_entries(writer: int, n: int) -> object:
    def work(uow: UnitOfWork) -> None:
        for entry in range(ENTRIES):
            uow.audit.append(AuditEvent("sent", order_id=f"wo_{writer}_{n}", detail={"e": entry}))

    return work


def write_many(
    store: SqlStore, writer: int, stop: threading.Event | None = None, most: int = TRANSACTIONS
) -> None:
    for n in range(most):
        if stop is not None and stop.is_set():
            return
        store.run_sync(append_entries(writer, n))  # type: ignore[arg-type]


def any_alive(threads: list[threading.Thread]) -> bool:
    return any(thread.is_alive() for thread in threads)


def test_writers_in_two_stores_at_once_build_one_gapless_chain(stores: list[SqlStore]) -> None:
    threads = [threading.Thread(target=write_many, args=(stores[w % 2], w)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    with stores[0].audit_snapshot() as (head, records):
        report = verify_chain(records, head)
    assert report.ok, report
    assert report.entries == head[0] == WRITERS * TRANSACTIONS * ENTRIES


def test_verification_while_both_stores_append_sees_an_intact_chain(
    stores: list[SqlStore],
) -> None:
    """Writers go on until the verifier has checked the chain at several lengths (or a
    bound is hit): on a loaded machine a fixed number of writes could end too soon."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=write_many, args=(store, w, stop, 20 * TRANSACTIONS))
        for w, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    seen: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while len(set(seen)) < 3 and time.monotonic() < deadline and any_alive(threads):
            with stores[1].audit_snapshot() as (head, records):
                report = verify_chain(records, head)
            assert report.ok, report  # a live chain never looks broken
            seen.append(report.entries)
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    assert len(set(seen)) >= 3, f"verifications did not see the chain grow: {seen}"
    with stores[0].audit_snapshot() as (head, records):
        assert verify_chain(records, head).ok
