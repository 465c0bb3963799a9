"""Units of work run in their caller's context: log ids bound around `write` (and a bind
inside one unit) reach the database thread and stay there, each unit apart."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from gateway.bootstrap import open_sql_store
from gateway.service.log_context import bind, current, log_context
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL


def _ids(_uow: UnitOfWork) -> Mapping[str, str]:
    return dict(current())


async def test_a_unit_of_work_sees_the_ids_its_caller_bound(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url)
    try:
        with log_context(order_id="wo_1", agency="tax-12366"):
            seen = await store.write(_ids)
        assert seen == {"order_id": "wo_1", "agency": "tax-12366"}
    finally:
        await store.aclose()


async def test_units_queued_together_keep_their_own_ids(database_url: str) -> None:
    upgrade(database_url)
    store = open_sql_store(database_url)

    async def one(order_id: str) -> Mapping[str, str]:
        with log_context(order_id=order_id):
            return await store.write(_ids)

    def binds(uow: UnitOfWork) -> Mapping[str, str]:
        bind(handoff_id="msg_1")  # lives and dies with this unit
        return dict(current())

    try:
        results = await asyncio.gather(*(one(f"wo_{n}") for n in range(20)), store.write(binds))
        assert [r["order_id"] for r in results[:20]] == [f"wo_{n}" for n in range(20)]
        assert results[20] == {"handoff_id": "msg_1"}
        assert await store.write(_ids) == {}
    finally:
        await store.aclose()
