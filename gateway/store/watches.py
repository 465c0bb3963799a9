"""Deadline watches in SQL: armed at intake, fired once when due, settled when answered.

One `order_watches` row per order holds all its watches as a JSON plan
(gateway/store/watch_plan.py): intake writes one row, not one per card. On PostgreSQL,
arming and settling change the plan inside the database in one statement each, under the
row's lock (gateway/store/watch_postgres.py); on SQLite (one writer, in the process) they
read the row, change the plan in Python and write it back. Firing reads the due rows
(`FOR UPDATE SKIP LOCKED` on PostgreSQL) and writes back the fired plans.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import sqlite

from gateway.service.ports.store import Watch
from gateway.store import watch_plan
from gateway.store.plain import PlainRead, PlainWrite
from gateway.store.schema import order_watches
from gateway.store.watch_plan import FIRED, Entry
from gateway.store.watch_postgres import arm_on_postgresql, settle_on_postgresql

Plan = list[Entry]


class SqlWatches:
    """One row per order, one plan entry per (kind, level, agency); each fires at most once
    per arming."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def arm(self, *armed: Watch) -> None:
        """Arm each watch, or re-arm it at its new due time (an extension moves deadlines).

        A new order's watches are one INSERT; on an order already watched, a watch with
        the same kind, level and agency is replaced in its place, whatever its state."""
        by_order: dict[str, list[Watch]] = {}
        for watch in armed:
            by_order.setdefault(watch.order_id, []).append(watch)
        for order_id, watches in by_order.items():
            self._arm_order(order_id, watches)

    def fire_due(self, now: float, limit: int) -> list[Watch]:
        """Mark up to `limit` armed watches due by `now` as fired (soonest first), return them.

        Reads at most `limit` rows (each has at least one due watch), skipping rows another
        process holds, and fires the soonest `limit` of their due watches."""
        query = (
            select(order_watches.c.order_id, order_watches.c.plan)
            .where(order_watches.c.next_due <= now)
            .order_by(order_watches.c.next_due)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        plans = {row.order_id: watch_plan.loads(row.plan) for row in self.conn.execute(query)}
        candidates = [
            (order_id, entry)
            for order_id, plan in plans.items()
            for entry in watch_plan.due(plan, now)
        ]
        fired = sorted(candidates, key=lambda pair: float(pair[1]["due_at"]))[:limit]
        for _, entry in fired:
            entry["state"], entry["fired_at"] = FIRED, now
        changed = {order_id for order_id, _ in fired}
        self._write_many({order_id: plans[order_id] for order_id in changed})
        return [watch_plan.watch_of(order_id, entry) for order_id, entry in fired]

    def settle(self, order_id: str, kinds: Iterable[str], agency: str | None = None) -> int:
        """Disarm the order's armed watches of `kinds` (of one agency when given)."""
        if self.conn.dialect.name == "postgresql":
            return settle_on_postgresql(self.conn, order_id, kinds, agency)
        plan = self._armed(order_id)
        if plan is None:
            return 0
        count = watch_plan.settle(plan, set(kinds), agency)
        if count:
            self._write_many({order_id: plan})
        return count

    def for_order(self, order_id: str) -> list[tuple[Watch, str]]:
        """Every watch of one order with its state, soonest first."""
        row = _PLAN.first(self.conn, {"b_order": order_id})
        plan = watch_plan.loads(row[0]) if row else []
        entries = sorted(plan, key=lambda entry: float(entry["due_at"]))
        return [(watch_plan.watch_of(order_id, entry), entry["state"]) for entry in entries]

    def _arm_order(self, order_id: str, watches: list[Watch]) -> None:
        plan = watch_plan.armed(watches)
        if self.conn.dialect.name == "postgresql":
            arm_on_postgresql(self.conn, {"order_id": order_id, **_values(plan)})
            return
        if _INSERT_NEW.run(self.conn, {"order_id": order_id, **_values(plan)}):
            return
        row = _PLAN.first(self.conn, {"b_order": order_id})
        if row is None:  # cannot happen: rows are never deleted
            raise RuntimeError(f"the watches of {order_id} vanished while being armed")
        self._write_many({order_id: watch_plan.armed(watches, watch_plan.loads(row[0]))})

    def _armed(self, order_id: str) -> Plan | None:
        """The order's plan, if it has an armed watch (SQLite: this transaction writes alone)."""
        row = _ARMED_PLAN.first(self.conn, {"b_order": order_id})
        return watch_plan.loads(row[0]) if row else None

    def _write_many(self, plans: dict[str, Plan]) -> None:
        """Write each changed plan back, in one driver call."""
        rows = [{"b_order": order_id, **_values(plan)} for order_id, plan in plans.items()]
        _UPDATE.run_many(self.conn, rows)


def _values(plan: Plan) -> dict[str, object]:
    return {"plan": watch_plan.dumps(plan), "next_due": watch_plan.next_due(plan)}


# SQLite's statements (PostgreSQL arms and settles in gateway/store/watch_postgres.py)
_INSERT_NEW = PlainWrite(  # an order's first watches; nothing when it has a row already
    sqlite.insert(order_watches).on_conflict_do_nothing(index_elements=["order_id"])
)
_BY_ORDER = order_watches.c.order_id == bindparam("b_order")
_PLAN = PlainRead(select(order_watches.c.plan).where(_BY_ORDER))
_ARMED_PLAN = PlainRead(
    select(order_watches.c.plan).where(_BY_ORDER, order_watches.c.next_due.is_not(None))
)
_UPDATE = PlainWrite(update(order_watches).where(_BY_ORDER))
