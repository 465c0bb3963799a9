"""The console's failed-delivery query on real SQLite and PostgreSQL: states, filters, pages."""

from __future__ import annotations

import asyncio

import pytest

from gateway.service.ports.queries import FailureQuery
from gateway.service.ports.store import UnitOfWork
from gateway.store.sql import SqlStore
from tests.integration.store.leases import lease
from tests.integration.store.test_outbox import handoff, store_with

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL


def failing_store(url: str) -> SqlStore:
    """Six handoffs created at 10·n: 1-3 dead at tax, 4 being retried at city, 5 pending and
    never tried, 6 dead at city."""
    hs = [handoff(n, agency="tax" if n <= 3 else "city", at=10.0 * n) for n in range(1, 7)]
    store = store_with(url, *hs)
    held = lease(store, "msg_1", "msg_2", "msg_3", "msg_4", "msg_6")

    def fail(uow: UnitOfWork) -> None:
        handoffs = uow.handoffs
        handoffs.dead("msg_1", held["msg_1"], "HTTP 400: 纳税人识别号格式不符", 400)
        handoffs.dead("msg_2", held["msg_2"], "HTTP 400: bad field", 400)
        handoffs.dead("msg_3", held["msg_3"], "timeout after 10 s (100%_timeout)", None)
        handoffs.reschedule("msg_4", held["msg_4"], 99.0, "HTTP 503: 系统维护中", 503)
        handoffs.dead("msg_6", held["msg_6"], "HTTP 410: gone", 410)

    store.run_sync(fail)
    return store


def ids(
    store: SqlStore, query: FailureQuery, before: int | None = None, limit: int = 10
) -> list[str]:
    rows = store.run_sync(
        lambda uow: uow.handoff_queries.failures(query, before, limit), writes=False
    )
    return [row.id for row in rows]


def test_failures_are_listed_newest_first_and_never_include_untried_handoffs(
    database_url: str,
) -> None:
    store = failing_store(database_url)
    assert ids(store, FailureQuery()) == ["msg_6", "msg_4", "msg_3", "msg_2", "msg_1"]
    assert ids(store, FailureQuery(state="retrying")) == ["msg_4"]
    assert ids(store, FailureQuery(state="dead", agency="tax")) == ["msg_3", "msg_2", "msg_1"]
    asyncio.run(store.aclose())


def test_failures_filter_by_window_and_error_text_case_blind_with_wildcards_literal(
    database_url: str,
) -> None:
    store = failing_store(database_url)
    assert ids(store, FailureQuery(since=20.0, until=40.0)) == ["msg_3", "msg_2"]
    assert ids(store, FailureQuery(error="BAD FIELD")) == ["msg_2"]
    assert ids(store, FailureQuery(error="系统维护")) == ["msg_4"]
    assert ids(store, FailureQuery(error="100%_t")) == ["msg_3"]  # % and _ are not wildcards
    assert ids(store, FailureQuery(error="0%")) == ["msg_3"]
    count = store.run_sync(
        lambda uow: uow.handoff_queries.count_failures(FailureQuery(error="http"))
    )
    assert count == 4
    asyncio.run(store.aclose())


def test_failures_come_in_pages_before_a_sequence_number(database_url: str) -> None:
    store = failing_store(database_url)
    first = store.run_sync(lambda uow: uow.handoff_queries.failures(FailureQuery(), None, 2))
    assert [row.id for row in first] == ["msg_6", "msg_4"]
    assert ids(store, FailureQuery(), before=first[-1].seq, limit=2) == ["msg_3", "msg_2"]
    asyncio.run(store.aclose())
