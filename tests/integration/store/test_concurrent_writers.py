"""Several writers on PostgreSQL: no lost update, deadlocks run again, one chain that verifies.

Writers no longer take the audit head's lock first, so nothing but row locks keeps two
transactions that read one order and write it back from losing one's change."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

from gateway.bootstrap import open_sql_store
from gateway.crypto.sealing import ephemeral_keyring
from gateway.domain.audit import AuditEvent
from gateway.service.audit import verify_chain
from gateway.service.ports.store import UnitOfWork
from gateway.store.migrate import upgrade
from gateway.store.sql import SqlStore
from tests.integration.store.contract.builders import work_order

BUMPS = 24


def _bump(order_id: str) -> object:
    """Read the order, wait a little (another writer reads it meanwhile, if it may), write
    it back one revision on, with an audit entry."""

    def work(uow: UnitOfWork) -> int:
        stored = uow.orders.get(order_id)
        assert stored is not None
        time.sleep(0.005)
        order = stored.order.model_copy(update={"revision": stored.order.revision + 1})
        uow.orders.replace(order)
        uow.audit.append(AuditEvent("noted", order_id=order_id, party="system"))
        return order.revision

    return work


KEYS = ephemeral_keyring()  # one data key for every store here, as processes share one


def _store(url: str, writers: int) -> SqlStore:
    # no group budget: each unit of work commits on its own, so writers overlap the most
    return open_sql_store(url, cipher=KEYS, writers=writers, group_budget=0.0)


def test_concurrent_writers_of_one_order_lose_no_update(postgres_url: str) -> None:
    upgrade(postgres_url)
    store = _store(postgres_url, writers=4)
    store.run_sync(lambda uow: uow.orders.add(work_order("1", id="wo_1"), 1.0))

    async def bumps() -> list[int]:
        return list(await asyncio.gather(*(store.write(_bump("wo_1")) for _ in range(BUMPS))))

    revisions = asyncio.run(bumps())
    stored = store.run_sync(lambda uow: uow.orders.get("wo_1"), writes=False)
    assert stored is not None and stored.order.revision == 1 + BUMPS
    assert sorted(revisions) == list(range(2, BUMPS + 2))  # each saw the one before it
    asyncio.run(store.aclose())


def test_a_deadlock_between_writers_is_run_again_not_lost(postgres_url: str) -> None:
    """Two units lock two orders in opposite orders: PostgreSQL aborts one, which runs
    again; both callers get their result, and both orders carry both changes."""
    upgrade(postgres_url)
    store = _store(postgres_url, writers=2)
    for n in ("1", "2"):
        store.run_sync(lambda uow, n=n: uow.orders.add(work_order(n, id=f"wo_{n}"), 1.0))
    meet = threading.Barrier(2)
    runs: Counter[str] = Counter()

    def crosswise(first: str, second: str) -> object:
        def work(uow: UnitOfWork) -> str:
            runs[first] += 1
            _bump(first)(uow)
            if runs[first] == 1:
                meet.wait(5)  # both hold their first order: each now waits for the other
            _bump(second)(uow)
            return first

        return work

    async def both() -> list[str]:
        return list(
            await asyncio.gather(
                store.write(crosswise("wo_1", "wo_2")), store.write(crosswise("wo_2", "wo_1"))
            )
        )

    assert asyncio.run(both()) == ["wo_1", "wo_2"]
    assert sum(runs.values()) == 3  # one of the two ran again
    for order_id in ("wo_1", "wo_2"):
        stored = store.run_sync(lambda uow, o=order_id: uow.orders.get(o), writes=False)
        assert stored is not None and stored.order.revision == 3
    asyncio.run(store.aclose())


def test_many_writers_in_two_stores_leave_one_chain_that_verifies(postgres_url: str) -> None:
    """Two stores (as two processes have), four writers each, units on shared and own
    orders: every entry is on the chain once, in order, and it verifies."""
    upgrade(postgres_url)
    stores = [_store(postgres_url, writers=4), _store(postgres_url, writers=4)]
    orders = [f"wo_{n}" for n in range(6)]
    for order_id in orders:
        stores[0].run_sync(lambda uow, o=order_id: uow.orders.add(work_order(o, id=o), 1.0))
    units = 120

    async def write_all() -> None:
        writes = [
            stores[n % 2].write(_bump(orders[n % len(orders)]))  # each order by both stores
            for n in range(units)
        ]
        await asyncio.gather(*writes)

    asyncio.run(write_all())
    with stores[0].audit_snapshot() as (head, records):
        entries = list(records)
        report = verify_chain(entries, head)
    assert report.ok, report.problem
    assert report.entries == units == head[0]
    assert [e.seq for e in entries] == list(range(1, units + 1))
    for order_id in orders:
        stored = stores[1].run_sync(lambda uow, o=order_id: uow.orders.get(o), writes=False)
        assert stored is not None and stored.order.revision == 1 + units // len(orders)
    for store in stores:
        asyncio.run(store.aclose())


def test_a_purge_waits_for_a_writer_of_the_order_and_keeps_its_change(postgres_url: str) -> None:
    """The purge reads the order with its row's lock: it blanks the caller of the order as
    the writer left it, instead of writing its older copy back over the writer's change."""
    upgrade(postgres_url)
    store = _store(postgres_url, writers=2)
    store.run_sync(lambda uow: uow.orders.add(work_order("1", id="wo_1"), 1.0))
    holding, purged = threading.Event(), threading.Event()

    def slow_bump(uow: UnitOfWork) -> int:
        revision = _bump("wo_1")(uow)  # holds the order's lock until this unit commits
        holding.set()
        time.sleep(0.3)  # the purge reads meanwhile
        return revision

    def purge() -> None:
        holding.wait(5)
        store.run_sync(lambda uow: uow.retention.erase_order("wo_1"))
        purged.set()

    purger = threading.Thread(target=purge)
    purger.start()
    assert asyncio.run(store.write(slow_bump)) == 2
    purger.join(10)
    assert purged.is_set()
    stored = store.run_sync(lambda uow: uow.orders.get("wo_1"), writes=False)
    assert stored is not None
    assert stored.order.revision == 2, "the writer's change survives the purge"
    assert stored.order.caller is None or stored.order.caller.name is None
    asyncio.run(store.aclose())
