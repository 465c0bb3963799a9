"""Deadline watches in SQL: armed at intake, fired once when due, settled when answered."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.service.ports.store import Watch
from gateway.store.plain import PlainWrite
from gateway.store.schema import watches

ARMED, FIRED, SETTLED = "armed", "fired", "settled"


class SqlWatches:
    """One row per (order, kind, level, agency); each fires at most once per arming."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def arm(self, *armed: Watch) -> None:
        """Arm each watch, or re-arm it at its new due time (an extension moves deadlines).

        One statement for them all: an order arms four at intake."""
        rows = [
            {
                "order_id": watch.order_id,
                "kind": watch.kind,
                "level": watch.level,
                "agency": watch.agency,
                "due_at": watch.due_at,
                "state": ARMED,
                "fired_at": None,
            }
            for watch in armed
        ]
        _ARM[self.conn.dialect.name].run_many(self.conn, rows)

    def fire_due(self, now: float, limit: int) -> list[Watch]:
        """Mark up to `limit` armed watches due by `now` as fired, and return them."""
        query = (
            select(watches)
            .where(watches.c.state == ARMED, watches.c.due_at <= now)
            .order_by(watches.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        due = [_watch(row) for row in self.conn.execute(query)]
        for watch in due:
            self.conn.execute(
                update(watches)
                .where(*_key(watch), watches.c.state == ARMED)
                .values(state=FIRED, fired_at=now)
            )
        return due

    def settle(self, order_id: str, kinds: Iterable[str], agency: str | None = None) -> int:
        """Disarm the order's armed watches of `kinds` (of one agency when given)."""
        condition = and_(
            watches.c.order_id == order_id,
            watches.c.kind.in_(list(kinds)),
            watches.c.state == ARMED,
        )
        if agency is not None:
            condition = and_(condition, watches.c.agency == agency)
        result = self.conn.execute(update(watches).where(condition).values(state=SETTLED))
        return int(result.rowcount or 0)

    def for_order(self, order_id: str) -> list[tuple[Watch, str]]:
        """Every watch of one order with its state, soonest first."""
        query = select(watches).where(watches.c.order_id == order_id).order_by(watches.c.due_at)
        return [(_watch(row), row.state) for row in self.conn.execute(query)]


def _key(watch: Watch) -> tuple[ColumnElement[bool], ...]:
    return (
        watches.c.order_id == watch.order_id,
        watches.c.kind == watch.kind,
        watches.c.level == watch.level,
        watches.c.agency == watch.agency,
    )


def _arm_statement(dialect: Any) -> Any:
    """Insert a watch, or re-arm the one with its key: built once per dialect."""
    statement = dialect.insert(watches)
    return statement.on_conflict_do_update(
        index_elements=["order_id", "kind", "level", "agency"],
        set_={"due_at": statement.excluded.due_at, "state": ARMED, "fired_at": None},
    )


_ARM = {
    "postgresql": PlainWrite(_arm_statement(postgresql)),
    "sqlite": PlainWrite(_arm_statement(sqlite)),
}


def _watch(row: object) -> Watch:
    return Watch(
        order_id=row.order_id,  # type: ignore[attr-defined]
        kind=row.kind,  # type: ignore[attr-defined]
        level=row.level,  # type: ignore[attr-defined]
        agency=row.agency,  # type: ignore[attr-defined]
        due_at=row.due_at,  # type: ignore[attr-defined]
    )
