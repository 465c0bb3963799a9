"""The replay service on the real store: batches, the cancel flag, a fixed selection."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, insert

from gateway.bootstrap import open_sql_store
from gateway.domain.messages import Lane
from gateway.service.operations.replay import ReplayProgress, replay
from gateway.service.ports.queries import DeadLetterFilter
from gateway.store.migrate import upgrade
from gateway.store.schema import handoffs
from gateway.store.sql import SqlStore
from tests.integration.ops.helpers import handoffs_in

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

TAX = "tax-12366"


def dead_rows(database_url: str, n: int, agency: str = TAX, created_at: float = 1000.0) -> None:
    """`n` dead-lettered handoffs written straight into the outbox."""
    engine = create_engine(database_url)
    rows = [
        {
            "id": f"msg_dead_{agency}_{k:05d}",
            "order_id": f"wo_dead_{k:05d}",
            "agency": agency,
            "kind": "transfer",
            "lane": Lane.normal.value,
            "body": b"{}",
            "body_digest": "0" * 64,
            "state": "dead",
            "attempts": 10,
            "last_error": "HTTP 400",
            "next_attempt_at": created_at,
            "created_at": created_at + k,
        }
        for k in range(n)
    ]
    with engine.begin() as conn:
        conn.execute(insert(handoffs), rows)
    engine.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    upgrade(database_url)
    opened = open_sql_store(database_url)
    yield opened
    asyncio.run(opened.aclose())


def test_a_replay_stops_between_batches_when_cancelled(store: SqlStore, database_url: str) -> None:
    dead_rows(database_url, 25)
    cancel = threading.Event()

    def progress(_state: ReplayProgress) -> None:
        cancel.set()  # as Ctrl-C during the first batch would

    outcome = asyncio.run(
        replay(
            store,
            DeadLetterFilter(TAX),
            by="ops",
            clock=time.time,
            batch=10,
            cancel=cancel,
            progress=progress,
        )
    )
    assert outcome == ReplayProgress(batches=1, replayed=10, cancelled=True)
    assert handoffs_in(database_url, "dead", TAX) == 15
    assert handoffs_in(database_url, "pending", TAX) == 10


def test_a_replay_by_window_takes_only_handoffs_created_inside_it(
    store: SqlStore, database_url: str
) -> None:
    dead_rows(database_url, 30)  # created at 1000 … 1029
    dead_rows(database_url, 5, agency="city-management")
    which = DeadLetterFilter(TAX, since=1010.0, until=1020.0)
    outcome = asyncio.run(replay(store, which, by="ops", clock=time.time, batch=4))
    assert (outcome.replayed, outcome.batches) == (10, 3)
    assert handoffs_in(database_url, "dead", TAX) == 20
    assert handoffs_in(database_url, "dead", "city-management") == 5


def test_a_replayed_handoff_starts_its_attempts_again_and_is_due_now(
    store: SqlStore, database_url: str
) -> None:
    dead_rows(database_url, 1)
    before = time.time()
    asyncio.run(replay(store, DeadLetterFilter(TAX), by="ops", clock=time.time))
    views = store.run_sync(lambda uow: uow.handoff_queries.for_order("wo_dead_00000"), writes=False)
    handoff = views[0].handoff
    assert (handoff.state, handoff.attempts) == ("pending", 0)
    assert before <= handoff.next_attempt_at <= time.time()
