"""The audit entries read straight from the driver's cursor, several batches long.

A verification that stops at a broken entry leaves its cursor half read: the cursor must
end with the snapshot, so the connection goes back to the pool clean for the next work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from itertools import islice

import pytest
from sqlalchemy import text

from gateway.bootstrap import open_sql_store
from gateway.domain.audit import AuditEvent, AuditRecord
from gateway.service.audit import verify_chain
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

ENTRIES = 35
BATCH = 10  # entries per fetch: the trail takes several


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    upgrade(database_url)
    opened = open_sql_store(database_url, writers=1)
    opened.run_sync(append(ENTRIES))
    yield opened
    opened.engine.dispose()


def append(count: int, prefix: str = "wo") -> Callable[[UnitOfWork], None]:
    def work(uow: UnitOfWork) -> None:
        for n in range(count):
            detail = {"说明": "\u2028"}
            uow.audit.append(AuditEvent("sent", order_id=f"{prefix}_{n}", detail=detail))

    return work


def tamper(store: SqlStore, statement: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement))


def test_a_trail_of_several_batches_verifies_and_reads_as_records(store: SqlStore) -> None:
    with store.audit_snapshot(batch=BATCH) as (head, records):
        report = verify_chain(records, head)
    assert (report.ok, report.entries, head[0]) == (True, ENTRIES, ENTRIES)
    read = list(store.audit_records(batch=BATCH))
    assert [r.seq for r in read] == list(range(1, ENTRIES + 1))
    assert all(isinstance(r, AuditRecord) for r in read)


def test_a_stop_midway_leaves_the_store_usable(store: SqlStore) -> None:
    tamper(store, "UPDATE audit_log SET detail = '{}' WHERE seq = 15")
    for _ in range(3):  # the same pooled connection again and again
        with store.audit_snapshot(batch=BATCH) as (head, records):
            report = verify_chain(records, head)
        assert (report.ok, report.seq) == (False, 15)
        assert report.problem == "content does not match its hash"
        store.run_sync(append(2, "after"))
    with closing(store.audit_records(batch=BATCH)) as records:  # type: ignore[type-var]
        assert [r.seq for r in islice(records, 12)] == list(range(1, 13))
    store.run_sync(append(1, "last"))
    with store.audit_snapshot(batch=BATCH) as (head, records):
        assert head[0] == ENTRIES + 7
        assert [r.seq for r in records][-1] == ENTRIES + 7
