"""Orders kept opened (gateway.store.opened_orders), on real SQLite and PostgreSQL: a read
of the text this process stored takes the kept order; any other text is read in full."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from gateway.bootstrap import open_sql_store
from gateway.domain.states import Status
from gateway.domain.workorder import WorkOrder
from gateway.service.personal_data import SEALED
from gateway.service.ports.store import UnitOfWork
from gateway.store.documents import read_document
from gateway.store.migrate import upgrade
from gateway.store.opened_orders import Opened, OpenedOrders
from gateway.store.schema import work_orders
from gateway.store.sql import SqlStore
from tests.integration.store.contract.builders import work_order
from tests.integration.store.units import queue_behind_a_blocker

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL


def read(store: SqlStore, order_id: str) -> WorkOrder:
    stored = store.run_sync(lambda uow: uow.orders.get(order_id), writes=False)
    assert stored is not None
    return stored.order


def stored_with(url: str, order: WorkOrder) -> SqlStore:
    upgrade(url)
    store = open_sql_store(url)
    store.run_sync(lambda uow: uow.orders.add(order, 1.0))
    return store


def test_an_order_read_again_is_the_one_read_before_it(database_url: str) -> None:
    order = work_order()
    store = stored_with(database_url, order)
    first = read(store, order.id)
    assert first == order
    assert read(store, order.id) is first  # nothing parsed, opened or validated again
    moved = order.model_copy(update={"status": Status.dispatched})
    store.run_sync(lambda uow: uow.orders.replace(moved))
    assert read(store, order.id) == moved


def test_a_kept_order_is_what_its_stored_text_gives_not_the_model_written(
    database_url: str,
) -> None:
    """A model changed with `model_copy` was never validated: what was written is read
    back as the stored text gives it, kept or not (here: white space stripped)."""
    order = work_order()
    store = stored_with(database_url, order)
    written = order.model_copy(update={"partner_ids": {"police": " R-1 "}})
    store.run_sync(lambda uow: uow.orders.replace(written))
    assert read(store, order.id).partner_ids == {"police": "R-1"}
    other = open_sql_store(database_url, cipher=store.seal.cipher)  # nothing kept there
    assert read(other, order.id).partner_ids == {"police": "R-1"}


def test_a_write_by_another_process_is_read_in_full(database_url: str) -> None:
    order = work_order()
    ours = stored_with(database_url, order)
    theirs = open_sql_store(database_url, cipher=ours.seal.cipher)  # another gateway process
    assert read(theirs, order.id) == order
    theirs.run_sync(
        lambda uow: uow.orders.replace(order.model_copy(update={"status": Status.dispatched}))
    )
    seen = read(ours, order.id)
    assert seen.status == Status.dispatched
    assert seen.caller == order.caller  # its sealed fields opened with the shared key


def test_a_write_rolled_back_leaves_the_order_as_stored(database_url: str) -> None:
    order = work_order()
    store = stored_with(database_url, order)

    def replace_then_fail(uow: UnitOfWork) -> None:
        uow.orders.replace(order.model_copy(update={"status": Status.dispatched}))
        raise RuntimeError("the unit of work fails after its write")

    with pytest.raises(RuntimeError):
        store.run_sync(replace_then_fail)
    assert read(store, order.id).status == Status.received


def test_an_erased_order_is_dropped_with_its_personal_fields(database_url: str) -> None:
    order = work_order()
    store = stored_with(database_url, order)
    read(store, order.id)
    assert store.run_sync(lambda uow: uow.retention.erase_order(order.id)) == ["name", "phone"]
    assert store.opened_orders.holding(order.id, _text(store, order.id)) is None
    again = read(store, order.id)
    assert again.caller is not None and again.caller.phone is again.caller.name is None


def test_a_status_change_keeps_the_seal_it_read_and_re_seals_nothing(database_url: str) -> None:
    order = work_order()
    store = stored_with(database_url, order)
    before = _text(store, order.id)

    def dispatch(uow: UnitOfWork) -> None:
        stored = uow.orders.get(order.id)
        assert stored is not None
        uow.orders.replace(stored.order.model_copy(update={"status": Status.dispatched}))

    store.run_sync(dispatch)
    after = _text(store, order.id)
    phone_seal = read_document(before)["caller"]["phone"]
    assert phone_seal.startswith(SEALED)
    assert (
        read_document(after)["caller"]["phone"] == phone_seal
    )  # the phone's seal kept: the same bytes, no new encryption


def _text(store: SqlStore, order_id: str) -> str:
    with store.engine.connect() as conn:
        query = select(work_orders.c.document).where(work_orders.c.id == order_id)
        return str(conn.execute(query).scalar_one())


def test_the_kept_orders_are_bounded_oldest_out() -> None:
    kept = OpenedOrders(size=2)
    for n in range(3):
        kept.keep(f"wo_{n}", Opened(f"text-{n}", {}, {}))
    assert len(kept) == 2
    assert kept.holding("wo_0", "text-0") is None
    assert kept.holding("wo_2", "text-2") is not None
    assert kept.holding("wo_2", "another text") is None


def test_a_kept_order_is_not_used_past_its_time() -> None:
    """Kept orders hold personal fields in plain: none is used for long."""
    now = [100.0]
    kept = OpenedOrders(seconds=60.0, clock=lambda: now[0])
    kept.keep("wo_1", Opened("text", {}, {}))
    now[0] += 60.0
    assert kept.holding("wo_1", "text") is not None
    now[0] += 0.5
    assert kept.holding("wo_1", "text") is None


def test_rows_read_ahead_by_one_unit_of_a_group_are_not_the_next_ones(database_url: str) -> None:
    """A unit's rows read ahead and not got are dropped when the next unit of its group
    starts: on PostgreSQL their locks may have gone with the first unit's savepoint."""
    order = work_order()
    stored_with(database_url, order)
    store = open_sql_store(database_url, writers=1, group_budget=5.0)  # the units: one group
    left: list[int] = []

    def reads_ahead_and_fails(uow: UnitOfWork) -> None:
        uow.orders.read_ahead([order.id])
        raise ValueError("fails after reading ahead")

    def looks(uow: UnitOfWork) -> str:
        left.append(len(uow.orders._read_ahead))  # type: ignore[attr-defined]
        return "looked"

    results = asyncio.run(queue_behind_a_blocker(store, [reads_ahead_and_fails, looks]))
    assert isinstance(results[0], ValueError) and results[1] == "looked"
    assert left == [0]


def test_orders_read_ahead_are_what_get_gives_until_the_unit_writes_them(
    database_url: str,
) -> None:
    first, second = work_order("GZ-1"), work_order("GZ-2", id="wo_GZ-2")
    store = stored_with(database_url, first)
    store.run_sync(lambda uow: uow.orders.add(second, 1.0))
    moved = first.model_copy(update={"status": Status.dispatched})

    def read_ahead_then_write(uow: UnitOfWork) -> list[WorkOrder | None]:
        uow.orders.read_ahead(["wo_GZ-2", "wo_GZ-1", "wo_missing", "wo_GZ-1"])
        uow.orders.replace(moved)  # after the read ahead: its row for wo_GZ-1 is stale
        got = [uow.orders.get(n) for n in ("wo_GZ-1", "wo_GZ-2", "wo_GZ-2", "wo_missing")]
        return [None if one is None else one.order for one in got]

    assert store.run_sync(read_ahead_then_write) == [moved, second, second, None]
