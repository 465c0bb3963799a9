"""On PostgreSQL a claim run alone picks, leases and commits in one round trip, and one
queued in a group leases all the same and commits with the group."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from gateway.bootstrap import open_sql_store
from gateway.domain.messages import Handoff, Lane
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.schema import handoffs
from gateway.store.sql import SqlStore
from tests.e2e.round_trips import COUNTS, STATEMENTS, counting
from tests.integration.store.test_outbox import handoff
from tests.integration.store.units import noting, queue_behind_a_blocker

QUOTAS = {"tax": 3, "city": 3}


def _store(postgres_url: str, *due: Handoff) -> SqlStore:
    upgrade(postgres_url)
    store = open_sql_store(postgres_url, group_budget=5.0, writers=1)

    def add(uow: UnitOfWork) -> None:
        for one in due:
            uow.handoffs.add(one)

    asyncio.run(store.write(add))  # connected too: the driver's set-up is not counted
    return store


def _claim(uow: UnitOfWork) -> list[Handoff]:
    return uow.handoffs.claim(10.0, QUOTAS, Lane.normal, 70.0, "node-a")


def _leases(store: SqlStore) -> dict[str, tuple[str, str | None, int]]:
    """Each handoff's state, claim token and attempts, as committed (a new connection)."""
    query = select(handoffs.c.id, handoffs.c.state, handoffs.c.claim, handoffs.c.attempts)
    with store.engine.connect() as conn:
        return {row.id: (row.state, row.claim, row.attempts) for row in conn.execute(query)}


def _due() -> list[Handoff]:
    return [
        handoff(1, order="wo_1", agency="tax"),
        handoff(2, order="wo_2", agency="city"),
        handoff(3, order="wo_1", agency="tax"),  # behind msg_1: not claimed
    ]


def test_a_claim_alone_leases_and_commits_in_one_round_trip(postgres_url: str) -> None:
    store = _store(postgres_url, *_due())
    COUNTS.clear()
    STATEMENTS.clear()
    with counting():
        claimed = asyncio.run(store.write(_claim, audited=False))
    assert sum(COUNTS.values()) == 1, (COUNTS, STATEMENTS)  # before: a pipeline and a commit
    assert [h.id for h in claimed] == ["msg_1", "msg_2"]
    leases = _leases(store)
    assert {h.id: ("in_flight", h.claim, 1) for h in claimed} == {
        i: leases[i] for i in ("msg_1", "msg_2")
    }
    assert all(h.claim and h.attempts == 1 for h in claimed)
    assert leases["msg_3"] == ("pending", None, 0)


def test_a_claim_in_a_group_commits_with_the_group(postgres_url: str) -> None:
    """Queued behind an audited unit it runs in the group's transaction (which its
    answer must not end): both units' work is committed, once."""
    store = _store(postgres_url, *_due())

    async def both() -> list[Any]:
        return await queue_behind_a_blocker(store, [noting("before"), _claim])

    noted, claimed = asyncio.run(both())
    assert noted == "before"
    assert [h.id for h in claimed] == ["msg_1", "msg_2"]
    leases = _leases(store)
    assert [leases[h.id] for h in claimed] == [("in_flight", h.claim, 1) for h in claimed]
    assert store.run_sync(lambda uow: uow.cursors.get("before"), writes=False) == "1"


def test_nothing_runs_after_a_claim_has_ended_its_transaction(postgres_url: str) -> None:
    """Work that is not audited runs alone, and a claim's answer commits it: a statement
    after it is refused, not run outside any transaction."""
    store = _store(postgres_url, *_due())

    def claim_then_write(uow: UnitOfWork) -> None:
        _claim(uow)
        uow.cursors.save("after", "1", 1.0)

    with pytest.raises(RuntimeError, match="after its transaction's COMMIT"):
        asyncio.run(store.write(claim_then_write, audited=False))
    assert store.run_sync(lambda uow: uow.cursors.get("after"), writes=False) is None


def test_a_claim_that_finds_nothing_costs_one_round_trip(postgres_url: str) -> None:
    store = _store(postgres_url)
    COUNTS.clear()
    with counting():
        assert asyncio.run(store.write(_claim, audited=False)) == []
    assert sum(COUNTS.values()) == 1, COUNTS
