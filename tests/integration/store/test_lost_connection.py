"""A connection PostgreSQL ends (`pg_terminate_backend`: a restart, an idle timeout) costs
no unit of work: the pool replaces it without a ping, and a unit that loses it before its
COMMIT was asked for runs again on a fresh one; one that loses it at the COMMIT does not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy.engine import make_url

from gateway.bootstrap import open_sql_store
from gateway.domain.audit import AuditEvent
from gateway.domain.errors import StoreUnavailable
from gateway.service.audit import verify_chain
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore

TERMINATE_OTHERS = (  # and wait until each has ended (up to 5 s)
    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def _admin(url: str) -> psycopg.Connection:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(plain, autocommit=True)


def _terminate_every_store_connection(url: str) -> int:
    with _admin(url) as admin:
        row = admin.execute(TERMINATE_OTHERS).fetchone()
    assert row is not None
    return int(row[0])


def _note(name: str, runs: list[str]) -> Callable[[UnitOfWork], str]:
    def work(uow: UnitOfWork) -> str:
        runs.append(name)
        uow.audit.append(AuditEvent("noted", order_id=name, party="system"))
        uow.cursors.save(name, "1", 1.0)
        return name

    return work


def _trail(store: SqlStore) -> list[str | None]:
    with store.audit_snapshot() as (head, records):
        entries = list(records)
        assert verify_chain(entries, head).ok
    return [entry.order_id for entry in entries]


@pytest.fixture
def store(postgres_url: str) -> SqlStore:
    upgrade(postgres_url)
    return open_sql_store(postgres_url, writers=1)


def test_the_engine_sends_no_ping_per_transaction(store: SqlStore) -> None:
    assert store.engine.pool._pre_ping is False


def test_units_after_the_server_ended_every_connection_run_on_fresh_ones(
    store: SqlStore, postgres_url: str
) -> None:
    runs: list[str] = []
    assert asyncio.run(store.write(_note("before", runs))) == "before"
    assert store.run_sync(lambda uow: uow.cursors.get("before"), writes=False) == "1"
    assert _terminate_every_store_connection(postgres_url) >= 1  # the pooled ones, idle
    assert asyncio.run(store.write(_note("after", runs))) == "after"
    assert store.run_sync(lambda uow: uow.cursors.get("after"), writes=False) == "1"
    assert runs == ["before", "after"]  # replaced at checkout: nothing failed, nothing ran twice
    assert _trail(store) == ["before", "after"]


def test_a_unit_whose_connection_is_lost_before_its_commit_runs_again_once(
    store: SqlStore, postgres_url: str
) -> None:
    runs: list[str] = []

    def lost_midway(uow: UnitOfWork) -> str:
        runs.append("lost-midway")
        uow.audit.append(AuditEvent("noted", order_id="lost-midway", party="system"))
        uow.cursors.save("lost-midway", "1", 1.0)
        if len(runs) == 1:
            _terminate_every_store_connection(postgres_url)
        uow.cursors.get("lost-midway")  # a read: the lost connection fails here
        return "done"

    assert asyncio.run(store.write(lost_midway)) == "done"
    assert runs == ["lost-midway", "lost-midway"]
    assert store.run_sync(lambda uow: uow.cursors.get("lost-midway"), writes=False) == "1"
    assert _trail(store) == ["lost-midway"]  # the first run left nothing


def test_a_unit_whose_connection_is_lost_at_its_commit_is_not_run_again(
    store: SqlStore, postgres_url: str
) -> None:
    """Its writes wait for the COMMIT's round trip, which finds the connection gone: it
    may have committed for all the store can tell, so the caller hears the error."""
    runs: list[str] = []

    def lost_at_commit(uow: UnitOfWork) -> None:
        runs.append("lost-at-commit")
        uow.cursors.save("lost-at-commit", "1", 1.0)  # queued for the COMMIT's round trip
        _terminate_every_store_connection(postgres_url)

    with pytest.raises(StoreUnavailable):
        asyncio.run(store.write(lost_at_commit, audited=False))
    assert runs == ["lost-at-commit"]
    assert asyncio.run(store.write(_note("next", []))) == "next"  # a fresh connection
    assert _trail(store) == ["next"]
