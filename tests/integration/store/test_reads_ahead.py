"""Reads queued ahead: an outcome batch's orders and agency standings go with its
receipts' statement (one round trip on PostgreSQL), and answer what reads of their own
would."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from gateway.domain.messages import Lane, Receipt
from gateway.service.ports.store import Delivered, UnitOfWork
from gateway.store.plain import discard_deferred, read_ahead
from gateway.store.sql import SqlStore
from tests.e2e.round_trips import COUNTS, STATEMENTS, counting
from tests.integration.store.contract.builders import work_order
from tests.integration.store.test_outbox import handoff, store_with

pytestmark = pytest.mark.both_databases


def _claimed(url: str) -> tuple[SqlStore, str]:
    """A store with order wo_1 and its handoff msg_1, claimed; the claim's token."""
    store = store_with(url, handoff(1, order="wo_1"))
    store.run_sync(lambda uow: uow.orders.add(work_order("GZ-1", id="wo_1"), 1.0))
    store.run_sync(lambda uow: uow.standings.failed("city", 2, 5.0, 6.0))  # unsettled
    claimed = store.run_sync(
        lambda uow: uow.handoffs.claim(10.0, {"tax": 1}, Lane.normal, 70.0, "node-a")
    )
    assert claimed[0].claim is not None
    return store, claimed[0].claim


def _batch(claim: str, *more: str) -> Any:
    """What an outcome batch of one answered transfer reads and writes, in its order;
    `more`: orders it reads ahead besides wo_1, and gets."""

    def work(uow: UnitOfWork) -> tuple[Any, ...]:
        uow.orders.read_ahead(["wo_1", *more])
        uow.standings.read_ahead()
        receipt = Delivered("msg_1", claim, 11.0, Receipt(200, "0" * 64))
        recorded = uow.handoffs.delivered_all([receipt])
        got = [uow.orders.get(order_id) for order_id in ("wo_1", *more)]
        ids = [None if one is None else one.order.id for one in got]
        return recorded, ids, uow.standings.unsettled()

    return work


def test_an_outcome_batchs_reads_ahead_answer_as_reads_of_their_own(database_url: str) -> None:
    store, claim = _claimed(database_url)
    recorded, ids, unsettled = asyncio.run(store.write(_batch(claim, "wo_missing")))
    assert recorded == {("msg_1", claim)}
    assert ids == ["wo_1", None]
    assert list(unsettled) == ["city"] and unsettled["city"].failures == 2


def test_the_receipts_orders_and_standings_go_in_one_round_trip(postgres_url: str) -> None:
    """Before: the receipts, the orders, the standings and the COMMIT, four round trips."""
    store, claim = _claimed(postgres_url)
    COUNTS.clear()
    STATEMENTS.clear()
    with counting():
        asyncio.run(store.write(_batch(claim)))
    assert sum(COUNTS.values()) == 2, (COUNTS, STATEMENTS)  # the batch's, and the COMMIT


def test_a_read_ahead_asked_for_first_or_dropped_with_the_queue_reads_for_itself(
    postgres_url: str,
) -> None:
    store, _claim = _claimed(postgres_url)
    query = "SELECT id FROM work_orders WHERE id = %s"

    def ask_before_anything_is_sent(uow: UnitOfWork) -> list[Any]:
        conn = uow.handoffs.conn  # type: ignore[attr-defined]
        return read_ahead(conn, query, ("wo_1",)).rows()

    assert [tuple(r) for r in store.run_sync(ask_before_anything_is_sent)] == [("wo_1",)]

    def dropped(uow: UnitOfWork) -> list[Any]:
        conn = uow.handoffs.conn  # type: ignore[attr-defined]
        conn.execute(text("SELECT 1"))  # the BEGIN is sent: the queue is empty now
        ahead = read_ahead(conn, query, ("wo_1",))
        discard_deferred(conn)  # as a unit's savepoint rolled back drops what it queued
        return ahead.rows()

    assert [tuple(r) for r in store.run_sync(dropped)] == [("wo_1",)]
