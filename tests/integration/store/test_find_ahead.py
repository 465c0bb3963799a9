"""A group commit looks up the flows of its queued intakes in one statement
(`SqlOrders.find_ahead`), and every intake still gets the answer its own `find` would:
an order added earlier in the group is found, one whose unit failed is not, and one
another process added meanwhile is found when the group runs again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from gateway.bootstrap import open_sql_store
from gateway.crypto.sealing import ephemeral_keyring
from gateway.service.ports.store import OrderKey, UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.schema import work_orders
from gateway.store.sql import SqlStore
from tests.integration.store.contract.builders import work_order
from tests.integration.store.units import psycopg_statements, queue_behind_a_blocker

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

ORIGIN = work_order().origin


RUNS: list[str] = []  # the flow of each `_intake` run: a group run again shows twice


def _intake(flow_id: str, fails: bool = False) -> Callable[[UnitOfWork], str]:
    """What intake does with a flow: find its order, or add one ('created'); `fails`
    after adding it."""

    def work(uow: UnitOfWork) -> str:
        RUNS.append(flow_id)
        if uow.orders.find(ORIGIN, flow_id) is not None:
            return "found"
        uow.orders.add(work_order(flow_id), 1.0)
        if fails:
            raise ValueError(f"the unit that added {flow_id} fails")
        return "created"

    return work


def _key(flow_id: str) -> OrderKey:
    return (ORIGIN, flow_id)


@contextmanager
def _flow_look_ups(store: SqlStore) -> Iterator[list[str]]:
    """The statements that look orders up by flow, as the database is given them."""
    sent: list[str] = []

    def note(text: str) -> None:
        if "flow_id" in text and text.lstrip().upper().startswith("SELECT"):
            sent.append(text)

    if store.is_sqlite:
        event.listen(store.engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(note))
        yield sent
        return
    # with its parameters, as SQLite's trace gives them
    with psycopg_statements(lambda text, args: note(f"{text} {args!r}")):
        yield sent


def _orders_of(store: SqlStore, flow_id: str) -> int:
    query = select(func.count()).where(work_orders.c.flow_id == flow_id)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_group_of_intakes_looks_their_flows_up_in_one_statement(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)
    flows = [f"AHEAD-{n}" for n in range(10)]
    with _flow_look_ups(store) as sent:
        results = asyncio.run(
            queue_behind_a_blocker(store, [_intake(f) for f in flows], [_key(f) for f in flows])
        )
    assert results == ["created"] * 10
    assert len(sent) == 1, sent  # one look-up for the ten, none of their own
    assert [_orders_of(store, f) for f in flows] == [1] * 10


def test_work_that_names_no_flow_looks_up_nothing_ahead(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)
    flows = [f"ALONE-{n}" for n in range(3)]
    with _flow_look_ups(store) as sent:
        results = asyncio.run(queue_behind_a_blocker(store, [_intake(f) for f in flows]))
    assert results == ["created"] * 3
    assert len(sent) == 3  # each its own find


def test_an_intake_alone_in_the_queue_is_looked_up_by_its_own_find(database_url: str) -> None:
    """Ahead, a flow that is there would be read twice (ahead, then locked by its find)."""
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)
    with _flow_look_ups(store) as sent:  # before the first connection: SQLite's trace
        assert store.run_sync(_intake("STORED")) == "created"
        sent.clear()
        results = asyncio.run(queue_behind_a_blocker(store, [_intake("STORED")], [_key("STORED")]))
    assert results == ["found"]
    assert len(sent) == 1, sent


def test_an_order_added_earlier_in_the_group_is_found(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)
    flows = ["TWICE", "TWICE", "ONCE", "TWICE"]
    RUNS.clear()
    results = asyncio.run(
        queue_behind_a_blocker(store, [_intake(f) for f in flows], [_key(f) for f in flows])
    )
    assert results == ["created", "found", "created", "found"]
    assert flows == RUNS  # in one group, not run again (which would also find them)
    assert (_orders_of(store, "TWICE"), _orders_of(store, "ONCE")) == (1, 1)


def test_a_flow_stored_before_the_group_is_found(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)
    assert store.run_sync(_intake("STORED")) == "created"
    flows = ["NEW", "STORED"]
    RUNS.clear()
    results = asyncio.run(
        queue_behind_a_blocker(store, [_intake(f) for f in flows], [_key(f) for f in flows])
    )
    assert results == ["created", "found"]
    assert flows == RUNS  # in one group, not run again (which would also find it)
    assert _orders_of(store, "STORED") == 1


def test_a_flow_added_by_a_unit_that_failed_is_still_absent(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url, group_budget=5.0, writers=1)
    works = [_intake("OTHER"), _intake("DOOMED", fails=True), _intake("DOOMED")]
    keys = [_key("OTHER"), _key("DOOMED"), _key("DOOMED")]
    results = asyncio.run(queue_behind_a_blocker(store, works, keys))
    assert results[0] == "created"
    assert isinstance(results[1], ValueError)
    assert results[2] == "created"
    assert _orders_of(store, "DOOMED") == 1


def test_an_order_another_process_adds_after_the_look_up_is_found_on_the_rerun(
    postgres_url: str,
) -> None:
    """The flow was absent when looked up ahead; another process commits its order before
    the unit adds one: the unique key refuses the group, and each unit runs again alone,
    where the intake finds the order (PostgreSQL: SQLite has one writer)."""
    upgrade(postgres_url)
    keys = ephemeral_keyring()  # one data key: each reads what the other sealed
    store = open_sql_store(postgres_url, cipher=keys, group_budget=5.0, writers=1)
    elsewhere = open_sql_store(postgres_url, cipher=keys, writers=1)

    runs: list[str] = []

    def another_process_adds_it(uow: UnitOfWork) -> str:
        runs.append(elsewhere.run_sync(_intake("RACED")))
        return runs[-1]

    works = [_intake("FIRST"), another_process_adds_it, _intake("RACED")]
    flows = [_key("FIRST"), None, _key("RACED")]
    with _flow_look_ups(store) as sent:
        results = asyncio.run(queue_behind_a_blocker(store, works, flows))
    assert "FIRST" in sent[0] and "RACED" in sent[0]  # before the other process added it
    assert runs == ["created", "found"]  # the group was refused, and ran again unit by unit
    assert results == ["created", "found", "found"]
    assert (_orders_of(store, "FIRST"), _orders_of(store, "RACED")) == (1, 1)
    asyncio.run(elsewhere.aclose())


def test_only_the_unit_that_named_a_flow_is_answered_from_the_look_up(postgres_url: str) -> None:
    """A flow looked up ahead for a unit that then did not add it (refused here; on
    PostgreSQL also a job another writer thread took) may get an order from another
    transaction: a later unit of the group that finds it without having named it reads
    it (PostgreSQL: SQLite has one writer)."""
    upgrade(postgres_url)
    keys = ephemeral_keyring()
    store = open_sql_store(postgres_url, cipher=keys, group_budget=5.0, writers=1)
    elsewhere = open_sql_store(postgres_url, cipher=keys, writers=1)

    def refused_before_adding(uow: UnitOfWork) -> str:
        assert uow.orders.find(ORIGIN, "LATE") is None
        raise ValueError("refused before adding its order")

    def finds_it_without_naming_it(uow: UnitOfWork) -> str:
        return "found" if uow.orders.find(ORIGIN, "LATE") is not None else "absent"

    works = [
        _intake("FIRST"),
        refused_before_adding,
        lambda uow: elsewhere.run_sync(_intake("LATE")),
        finds_it_without_naming_it,
    ]
    flows = [_key("FIRST"), _key("LATE"), None, None]
    results = asyncio.run(queue_behind_a_blocker(store, works, flows))
    assert results[0] == "created"
    assert isinstance(results[1], ValueError)
    assert results[2:] == ["created", "found"]
    asyncio.run(elsewhere.aclose())
