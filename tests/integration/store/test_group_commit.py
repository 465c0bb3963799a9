"""Group commit: units of work queued together share one transaction, and one that fails
is rolled back alone (its savepoint), audit entries included."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.bootstrap import open_sql_store
from gateway.domain.audit import AuditEvent
from gateway.service.audit import verify_chain
from gateway.service.ports.store import UnitOfWork
from gateway.store.audit_log import SqlAuditLog
from gateway.store.migrate import upgrade
from gateway.store.plain import PlainWrite
from gateway.store.schema import audit_head, poll_cursors
from gateway.store.sql import SqlStore
from tests.e2e.round_trips import COUNTS, STATEMENTS, counting
from tests.integration.store.units import noting, psycopg_statements, queue_behind_a_blocker

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL


def _fails_after_writing(uow: UnitOfWork) -> None:
    uow.audit.append(AuditEvent("noted", order_id="doomed", party="system"))
    uow.cursors.save("doomed", "1", 1.0)
    raise ValueError("this unit of work fails")


def _fails_in_the_database(uow: UnitOfWork) -> None:
    """A duplicate key: on PostgreSQL this aborts the transaction until rolled back."""
    uow.audit.append(AuditEvent("noted", order_id="doomed", party="system"))
    insert = "INSERT INTO poll_cursors (party, cursor, updated_at) VALUES ('doomed', '1', 1.0)"
    conn = uow.cursors.conn  # type: ignore[attr-defined]
    conn.exec_driver_sql(insert)
    conn.exec_driver_sql(insert)


_ADD_CURSOR = PlainWrite(insert(poll_cursors))


def _fails_in_a_queued_write(uow: UnitOfWork) -> None:
    """A duplicate key in writes queued for the pipeline (PostgreSQL): they go with the
    group's next statement that needs an answer, whoever's; the group then runs again,
    each unit alone, so it fails, not the units beside it."""
    uow.audit.append(AuditEvent("noted", order_id="doomed", party="system"))
    conn = uow.cursors.conn  # type: ignore[attr-defined]
    row = {"party": "doomed", "cursor": "1", "updated_at": 1.0}
    _ADD_CURSOR.send(conn, row)
    _ADD_CURSOR.send(conn, row)


def _fails_before_sending(uow: UnitOfWork) -> None:
    """Raises with its savepoint and its writes still queued: nothing reached the server."""
    uow.audit.append(AuditEvent("noted", order_id="doomed", party="system"))
    row = {"party": "doomed", "cursor": "1", "updated_at": 1.0}
    _ADD_CURSOR.send(uow.cursors.conn, row)  # type: ignore[attr-defined]
    raise ValueError("this unit of work fails before it sends anything")


def _fails_after_its_writes_were_sent(uow: UnitOfWork) -> None:
    """Raises once a read has sent its queued write (PostgreSQL: its savepoint went first)."""
    uow.audit.append(AuditEvent("noted", order_id="doomed", party="system"))
    row = {"party": "doomed", "cursor": "1", "updated_at": 1.0}
    _ADD_CURSOR.send(uow.cursors.conn, row)  # type: ignore[attr-defined]
    assert uow.cursors.get("doomed") == "1"  # the read sends the write before it
    raise ValueError("this unit of work fails after its write reached the server")


def _fails_after_reading(uow: UnitOfWork) -> None:
    """Reads (sent at once), queues a write, raises: no savepoint was needed."""
    uow.audit.append(AuditEvent("noted", order_id="doomed", party="system"))
    assert uow.cursors.get("before") == "1"
    row = {"party": "doomed", "cursor": "1", "updated_at": 1.0}
    _ADD_CURSOR.send(uow.cursors.conn, row)  # type: ignore[attr-defined]
    raise ValueError("this unit of work fails after a read")


def _queues_only(name: str) -> Callable[[UnitOfWork], str]:
    """A unit whose writes all wait in the queue: an audit entry and a cursor."""

    def work(uow: UnitOfWork) -> str:
        uow.audit.append(AuditEvent("noted", order_id=name, party="system"))
        row = {"party": name, "cursor": "1", "updated_at": 1.0}
        _ADD_CURSOR.send(uow.cursors.conn, row)  # type: ignore[attr-defined]
        return name

    return work


def _integrity_error(exc: object) -> bool:
    """SQLAlchemy's IntegrityError or the driver's (psycopg UniqueViolation, sqlite3)."""
    return "IntegrityError" in {cls.__name__ for cls in type(exc).__mro__}


def _commits(store: SqlStore) -> list[int]:
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    return commits


def test_queued_units_of_work_commit_together(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)  # a slow machine groups all
    commits = _commits(store)
    names = [f"board-{n}" for n in range(20)]
    results = asyncio.run(queue_behind_a_blocker(store, [noting(n) for n in names]))
    assert results == names
    assert len(commits) == 1  # the blocker's group took the twenty queued meanwhile
    saved = store.run_sync(lambda uow: [uow.cursors.get(n) for n in names], writes=False)
    assert saved == ["1"] * 20
    with store.audit_snapshot() as (head, records):
        report = verify_chain(records, head)
    assert report.ok and report.entries == 20


@pytest.mark.parametrize(
    ("failing", "error"),
    [
        (_fails_after_writing, ValueError),
        (_fails_in_the_database, IntegrityError),
        (_fails_in_a_queued_write, None),
        (_fails_before_sending, ValueError),
        (_fails_after_its_writes_were_sent, ValueError),
        (_fails_after_reading, ValueError),
    ],
    ids=[
        "raises",
        "refused-by-the-database",
        "refused-queued-write",
        "raises-before-sending",
        "raises-after-its-writes-were-sent",
        "raises-after-reading",
    ],
)
def test_a_failing_unit_of_work_is_rolled_back_alone(
    database_url: str, failing: Callable[[UnitOfWork], None], error: type[Exception] | None
) -> None:
    """The units after it still commit, also when the database refused it (a refused
    statement aborts a PostgreSQL transaction until its savepoint is rolled back)."""
    upgrade(database_url)
    store = open_sql_store(database_url, writers=1)  # one writer: the three run as a group
    works = [noting("before"), failing, noting("after")]
    results = asyncio.run(queue_behind_a_blocker(store, works))
    assert results[0] == "before" and results[2] == "after"
    assert isinstance(results[1], error) if error else _integrity_error(results[1])
    cursors = store.run_sync(
        lambda uow: [uow.cursors.get(n) for n in ("before", "doomed", "after")], writes=False
    )
    assert cursors == ["1", None, "1"]
    with store.audit_snapshot() as (head, records):
        entries = list(records)
        report = verify_chain(entries, head)
    assert report.ok, report.problem
    assert [e.order_id for e in entries] == ["before", "after"]


def _reads_only(uow: UnitOfWork) -> None:
    """A read, sent at once: nothing of the group is left queued after it (PostgreSQL)."""
    assert uow.cursors.get("nobody") is None


@pytest.mark.parametrize(
    ("before", "failing"),
    [
        (_queues_only("before"), _fails_before_sending),
        (_queues_only("before"), _fails_after_its_writes_were_sent),
        (_reads_only, _fails_after_writing),
    ],
    ids=["queued-then-queued", "queued-then-sent", "nothing-queued-then-sent-at-once"],
)
def test_a_failing_unit_undoes_its_own_writes_only_and_the_group_commits_once(
    database_url: str,
    before: Callable[[UnitOfWork], Any],
    failing: Callable[[UnitOfWork], None],
) -> None:
    """Whatever the unit before it left queued stays; the failing unit's own writes go,
    whether they were still queued or sent (after its savepoint); and the group is not run
    again to get there (one commit: a misplaced savepoint would show as a database error,
    then a rerun)."""
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)  # all in one group
    asyncio.run(store.write(lambda uow: None))  # connected
    commits = _commits(store)
    works = [before, failing, noting("after")]
    results = asyncio.run(queue_behind_a_blocker(store, works))
    assert isinstance(results[1], ValueError)
    assert results[2] == "after"
    assert len(commits) == 1
    cursors = store.run_sync(
        lambda uow: [uow.cursors.get(n) for n in ("before", "doomed", "after")], writes=False
    )
    assert cursors == ["1" if before is not _reads_only else None, None, "1"]
    with store.audit_snapshot() as (head, records):
        entries = list(records)
        assert verify_chain(entries, head).ok
    assert "doomed" not in [e.order_id for e in entries]


def test_a_failing_first_unit_of_work_leaves_nothing(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url)
    with pytest.raises(ValueError, match="fails"):
        asyncio.run(store.write(_fails_after_writing))
    assert asyncio.run(store.write(noting("next"))) == "next"
    with store.audit_snapshot() as (head, records):
        entries = list(records)
        assert verify_chain(entries, head).ok
    assert [e.order_id for e in entries] == ["next"]


def test_entries_appended_then_read_in_one_unit_of_work_are_seen(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url)

    def append_then_read(uow: UnitOfWork) -> list[str]:
        for event_name in ("one", "two"):
            uow.audit.append(AuditEvent(event_name, order_id="wo_1", party="system"))
        return [entry.event for entry in uow.audit.for_order("wo_1")]

    assert store.run_sync(append_then_read) == ["one", "two"]


def test_work_that_is_not_audited_does_not_wait_for_the_chain(postgres_url: str) -> None:
    """On PostgreSQL a claim must not queue for the audit head's lock behind other writers."""
    upgrade(postgres_url)
    store = open_sql_store(postgres_url)
    holder = store.engine.connect()
    holder.begin()
    holder.execute(select(audit_head).with_for_update())  # another writer holds the head

    async def both() -> tuple[str, bool]:
        unaudited = await asyncio.wait_for(
            store.write(lambda uow: uow.cursors.save("claim", "1", 1.0) or "done", audited=False),
            5,
        )
        audited = asyncio.ensure_future(store.write(noting("audited")))
        await asyncio.sleep(0.5)
        waited = not audited.done()
        holder.rollback()
        await audited
        return unaudited, waited

    unaudited, waited = asyncio.run(both())
    holder.close()
    assert unaudited == "done"
    assert waited  # an audited write did wait for the head


def test_a_failure_between_units_of_work_reaches_every_caller(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing the previous unit's audit entries can fail after the next unit was taken:
    the whole group fails, and no caller is left waiting."""
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)

    def checkpoint_fails(_self: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(SqlAuditLog, "checkpoint", checkpoint_fails)

    async def run() -> list[Any]:
        gate = threading.Event()
        blocker = asyncio.ensure_future(store.write(lambda uow: gate.wait(10)))
        await asyncio.sleep(0.05)
        queued = [asyncio.ensure_future(store.write(noting(n))) for n in ("one", "two")]
        await asyncio.sleep(0.05)
        gate.set()
        every = asyncio.gather(blocker, *queued, return_exceptions=True)
        return await asyncio.wait_for(every, 10)

    results = asyncio.run(run())
    blocker, taken_with_it, next_group = results
    assert isinstance(blocker, RuntimeError) and isinstance(taken_with_it, RuntimeError)
    assert next_group == "two"  # the next group starts afresh


def test_a_first_unit_whose_queued_writes_fail_fails_alone(database_url: str) -> None:
    """Its writes go with the group's (PostgreSQL): the database refuses them, the group
    runs again unit by unit, the first unit gets the error and the second commits (on
    SQLite the write fails at once, inside the first unit)."""
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)
    gate = threading.Event()

    def fails_when_sent(uow: UnitOfWork) -> None:
        _fails_in_a_queued_write(uow)
        gate.wait(10)  # the second unit is queued meanwhile

    async def run() -> list[Any]:
        first = asyncio.ensure_future(store.write(fails_when_sent))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(store.write(noting("after")))
        await asyncio.sleep(0.05)
        gate.set()
        both = asyncio.gather(first, second, return_exceptions=True)
        return await asyncio.wait_for(both, 20)  # no caller is left waiting

    failed, after = asyncio.run(run())
    assert _integrity_error(failed)
    assert after == "after"
    cursors = store.run_sync(
        lambda uow: [uow.cursors.get(n) for n in ("doomed", "after")], writes=False
    )
    assert cursors == [None, "1"]
    with store.audit_snapshot() as (head, records):
        entries = list(records)
        assert verify_chain(entries, head).ok
    assert [e.order_id for e in entries] == ["after"]


def test_a_group_sends_its_units_writes_together(postgres_url: str) -> None:
    """Twenty units that only write commit in a few round trips, not one or more each:
    their writes go together with the audit head's lock and the COMMIT."""
    upgrade(postgres_url)
    store = open_sql_store(postgres_url, group_budget=5.0, writers=1)
    names = [f"board-{n}" for n in range(20)]
    asyncio.run(store.write(lambda uow: None))  # connected: the driver's set-up is not counted
    COUNTS.clear()
    with counting():
        results = asyncio.run(queue_behind_a_blocker(store, [_queues_only(n) for n in names]))
    assert results == names
    assert sum(COUNTS.values()) <= 3, (COUNTS, STATEMENTS)  # before: 22 pipelines
    saved = store.run_sync(lambda uow: [uow.cursors.get(n) for n in names], writes=False)
    assert saved == ["1"] * 20
    with store.audit_snapshot() as (head, records):
        assert verify_chain(list(records), head).entries == 20


@contextmanager
def savepoints_sent() -> Iterator[list[str]]:
    """The SAVEPOINT statements the driver is given meanwhile (in pipelines or not)."""
    made: list[str] = []

    def note(text: str, _args: tuple[Any, ...]) -> None:
        if text.startswith("SAVEPOINT"):
            made.append(text)

    with psycopg_statements(note):
        yield made


def test_only_a_unit_whose_writes_were_sent_makes_a_savepoint(postgres_url: str) -> None:
    """A unit whose writes are all still queued when it ends needs no savepoint (they are
    dropped if it fails); one whose write was sent while it ran gets one, before it."""
    upgrade(postgres_url)
    store = open_sql_store(postgres_url, group_budget=5.0, writers=1)
    asyncio.run(store.write(lambda uow: None))  # connected

    def reads_its_write(uow: UnitOfWork) -> str | None:
        _queues_only("sent")(uow)
        return uow.cursors.get("sent")  # the read sends the write, after a savepoint

    works = [_queues_only(f"queued-{n}") for n in range(10)] + [reads_its_write]
    with savepoints_sent() as made:
        results = asyncio.run(queue_behind_a_blocker(store, works))
    assert results == [f"queued-{n}" for n in range(10)] + ["1"]
    assert made == ["SAVEPOINT lianxin_unit_12"]  # the blocker, ten units, then this one
