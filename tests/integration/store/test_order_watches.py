"""One `order_watches` row per order: the same answers as the per-watch model, and the
migration that moves the old per-watch rows across."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, select, text

from gateway.service.ports.store import Watch
from gateway.store.migrate import alembic_config, upgrade
from gateway.store.schema import order_watches
from gateway.store.sql import create_store_engine
from gateway.store.watches import SqlWatches
from tests.fakes.state import MemoryState
from tests.fakes.watches import MemoryWatches

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

BEFORE = "0014_inbound_bodies"  # the last revision with one `watches` row per watch
ORDERS = [f"wo_{n}" for n in range(6)]
KINDS = ["acknowledge", "resolve", "emergency_ack"]


def _migrated(url: str) -> Any:
    upgrade(url)
    made = create_store_engine(url)
    yield made
    made.dispose()


@pytest.fixture
def engine(database_url: str) -> Any:
    yield from _migrated(database_url)


@pytest.fixture
def postgres_engine(postgres_url: str) -> Any:
    """PostgreSQL only: where two writers' transactions overlap (SQLite has one writer)."""
    yield from _migrated(postgres_url)


def in_transaction(engine: Engine, work: Callable[[SqlWatches], Any]) -> Any:
    with engine.begin() as conn:
        return work(SqlWatches(conn))


class Scenario:
    """Random arms, fires and settles, with distinct due times (so "soonest first" is one order)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = 0.0
        self.used: set[float] = set()

    def due(self) -> float:
        while (at := round(self.now + self.rng.uniform(1, 100), 3)) in self.used:
            pass
        self.used.add(at)
        return at

    def watch(self) -> Watch:
        kind = self.rng.choice(KINDS)
        agency = self.rng.choice(["a1", "a2"]) if kind == "emergency_ack" else ""
        level = "escalation" if agency else self.rng.choice(["yellow", "red"])
        return Watch(self.rng.choice(ORDERS), kind, level, self.due(), agency)

    def step(self) -> tuple[str, tuple[Any, ...]]:
        roll = self.rng.random()
        if roll < 0.45:
            return "arm", tuple(self.watch() for _ in range(self.rng.randint(1, 4)))
        if roll < 0.75:
            self.now += self.rng.uniform(0, 40)
            return "fire_due", (self.now, self.rng.randint(1, 5))
        kinds = self.rng.sample(KINDS, self.rng.randint(1, 2))
        agency = self.rng.choice([None, "a1", "a2"])
        return "settle", (self.rng.choice(ORDERS), kinds, agency)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_one_row_plans_answer_as_the_per_watch_model_does(engine: Engine, seed: int) -> None:
    reference = MemoryWatches(MemoryState())
    scenario = Scenario(seed)
    for _ in range(150):
        name, args = scenario.step()
        expected = getattr(reference, name)(*args)
        got = in_transaction(engine, lambda w, name=name, args=args: getattr(w, name)(*args))
        assert got == expected, (name, args)
    for order_id in ORDERS:
        got = in_transaction(engine, lambda w, order_id=order_id: w.for_order(order_id))
        assert got == reference.for_order(order_id)


def test_the_limit_counts_watches_not_orders(engine: Engine) -> None:
    cards = [Watch("wo_a", "resolve", level, at) for level, at in (("yellow", 10.0), ("red", 30.0))]
    other = Watch("wo_b", "acknowledge", "red", 20.0)
    in_transaction(engine, lambda w: w.arm(*cards, other))
    assert in_transaction(engine, lambda w: w.fire_due(100.0, 2)) == [cards[0], other]
    assert in_transaction(engine, lambda w: w.fire_due(100.0, 2)) == [cards[1]]
    assert in_transaction(engine, lambda w: w.fire_due(100.0, 2)) == []
    assert next_due(engine) == {"wo_a": None, "wo_b": None}


def test_an_order_is_one_row_whose_next_due_is_its_soonest_armed_watch(engine: Engine) -> None:
    cards = [
        Watch("wo_a", kind, "red", at) for kind, at in (("acknowledge", 5.0), ("resolve", 9.0))
    ]
    in_transaction(engine, lambda w: w.arm(*cards))
    in_transaction(engine, lambda w: w.arm(Watch("wo_a", "emergency_ack", "escalation", 7.0, "a1")))
    assert next_due(engine) == {"wo_a": 5.0}
    assert in_transaction(engine, lambda w: w.settle("wo_a", ["acknowledge"])) == 1
    assert next_due(engine) == {"wo_a": 7.0}
    assert in_transaction(engine, lambda w: w.settle("wo_a", ["emergency_ack"], "a2")) == 0
    assert in_transaction(engine, lambda w: w.settle("wo_a", ["emergency_ack"], "a1")) == 1
    assert next_due(engine) == {"wo_a": 9.0}


def test_a_row_another_process_is_firing_is_skipped(postgres_engine: Engine) -> None:
    engine = postgres_engine
    in_transaction(engine, lambda w: w.arm(Watch("wo_a", "resolve", "red", 1.0)))
    in_transaction(engine, lambda w: w.arm(Watch("wo_b", "resolve", "red", 2.0)))
    with engine.begin() as first:
        assert [w.order_id for w in SqlWatches(first).fire_due(10.0, 1)] == ["wo_a"]
        with engine.begin() as second:
            assert [w.order_id for w in SqlWatches(second).fire_due(10.0, 5)] == ["wo_b"]


def test_a_settle_waiting_for_an_arm_keeps_what_the_arm_wrote(postgres_engine: Engine) -> None:
    engine = postgres_engine
    cards = [
        Watch("wo_a", kind, "red", at) for kind, at in (("acknowledge", 10.0), ("resolve", 20.0))
    ]
    escalation = Watch("wo_a", "emergency_ack", "escalation", 5.0, "a1")
    in_transaction(engine, lambda w: w.arm(*cards))
    settled: list[int] = []
    with engine.begin() as arming:
        SqlWatches(arming).arm(escalation)  # queued until the next statement that reads
        SqlWatches(arming).for_order("wo_a")  # sent: the row's lock is held until the commit
        waiting = threading.Thread(
            target=lambda: settled.append(
                in_transaction(engine, lambda w: w.settle("wo_a", ["acknowledge"]))
            )
        )
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "the settle waits for the row's lock"
    waiting.join(10)
    assert settled == [1]
    assert in_transaction(engine, lambda w: w.for_order("wo_a")) == [
        (escalation, "armed"),
        (cards[0], "settled"),
        (cards[1], "armed"),
    ]
    assert next_due(engine) == {"wo_a": 5.0}


def next_due(engine: Engine) -> dict[str, float | None]:
    with engine.connect() as conn:
        rows = conn.execute(select(order_watches.c.order_id, order_watches.c.next_due))
        return {row.order_id: row.next_due for row in rows}


# --- the migration ------------------------------------------------------------------------

OLD_ROWS = [  # order_id, kind, level, agency, due_at, state, fired_at
    ("wo_1", "acknowledge", "yellow", "", 100.5, "fired", 101.25),
    ("wo_1", "acknowledge", "red", "", 200.0, "settled", None),
    ("wo_1", "resolve", "yellow", "", 300.0, "armed", None),
    ("wo_1", "resolve", "red", "", 400.0, "armed", None),
    ("wo_1", "emergency_ack", "escalation", "city-119", 150.0, "armed", None),
    ("wo_2", "acknowledge", "red", "", 50.0, "settled", None),
    ("wo_2", "resolve", "red", "", 60.0, "fired", 61.0),
]


def test_the_migration_moves_every_watch_in_every_state_and_back(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, BEFORE)
    engine = create_store_engine(database_url)
    try:
        with engine.begin() as conn:
            _insert_old(conn, OLD_ROWS)
        command.upgrade(config, "head")
        assert "watches" not in inspect(engine).get_table_names()
        assert next_due(engine) == {"wo_1": 150.0, "wo_2": None}
        for order_id in ("wo_1", "wo_2"):
            got = in_transaction(engine, lambda w, order_id=order_id: w.for_order(order_id))
            assert got == _expected(order_id)
        assert [w.kind for w in in_transaction(engine, lambda w: w.fire_due(1000.0, 10))] == [
            "emergency_ack",
            "resolve",
            "resolve",
        ]
        command.downgrade(config, BEFORE)
        with engine.connect() as conn:
            back = conn.execute(text("SELECT * FROM watches ORDER BY order_id, due_at")).all()
        fired = {("wo_1", 150.0), ("wo_1", 300.0), ("wo_1", 400.0)}
        assert [tuple(row) for row in back] == [
            (*row[:5], "fired", 1000.0) if (row[0], row[4]) in fired else row
            for row in sorted(OLD_ROWS, key=lambda r: (r[0], r[4]))
        ]
    finally:
        engine.dispose()


def _insert_old(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.execute(
        text(
            "INSERT INTO watches (order_id, kind, level, agency, due_at, state, fired_at) "
            "VALUES (:o, :k, :l, :a, :d, :s, :f)"
        ),
        [dict(zip("okladsf", row, strict=True)) for row in rows],
    )


def _expected(order_id: str) -> list[tuple[Watch, str]]:
    mine = sorted((row for row in OLD_ROWS if row[0] == order_id), key=lambda row: row[4])
    return [(Watch(row[0], row[1], row[2], row[4], row[3]), row[5]) for row in mine]


def test_the_migration_moves_more_orders_than_one_batch(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, BEFORE)
    orders = [f"wo_{n:05d}" for n in range(2500)]  # the migration inserts 1,000 rows at a time
    old = [
        (o, kind, "red", "", 10.0 + n, "armed", None)
        for o in orders
        for n, kind in enumerate(KINDS[:2])
    ]
    engine = create_store_engine(database_url)
    try:
        with engine.begin() as conn:
            _insert_old(conn, old)
        command.upgrade(config, "head")
        assert next_due(engine) == dict.fromkeys(orders, 10.0)
        watched = in_transaction(engine, lambda w: w.for_order(orders[-1]))
        assert [(w.kind, w.due_at, state) for w, state in watched] == [
            ("acknowledge", 10.0, "armed"),
            ("resolve", 11.0, "armed"),
        ]
    finally:
        engine.dispose()
