"""order_watches: one row per order for its deadline watches, in place of one per watch

An order armed four `watches` rows at intake (the sign-for and resolve cards), each with
two index entries, and an emergency one more per agency. `order_watches` holds them all
in one row: `plan`, a JSON list of the entries (kind, level, agency, due_at, state,
fired_at), and `next_due`, the soonest armed due time (NULL when nothing is armed), which
the watch loop reads due rows by through a partial index. The existing rows are moved
across with their states, then `watches` is dropped (downgrade rebuilds it from the plans).

Revision ID: 0015_order_watches
Revises: 0014_inbound_bodies
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015_order_watches"
down_revision = "0014_inbound_bodies"
branch_labels = None
depends_on = None

BATCH = 1000
ARMED = "armed"
DUE = sa.text("next_due IS NOT NULL")
ENTRY = ("kind", "level", "agency", "due_at", "state", "fired_at")

watches = sa.table(
    "watches",
    *(sa.column(name) for name in ("order_id", *ENTRY)),
)
order_watches = sa.table(
    "order_watches", sa.column("order_id"), sa.column("plan"), sa.column("next_due")
)


def upgrade() -> None:
    op.create_table(
        "order_watches",
        sa.Column("order_id", sa.String(length=40), primary_key=True),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("next_due", sa.Float(), nullable=True),
    )
    op.create_index(
        "ix_order_watches_due",
        "order_watches",
        ["next_due"],
        postgresql_where=DUE,
        sqlite_where=DUE,
    )
    bind = op.get_bind()
    query = sa.select(watches).order_by(watches.c.order_id, watches.c.due_at)
    rows = bind.execute(query.execution_options(yield_per=BATCH)).mappings()  # streamed
    plans = (_row(order_id, group) for order_id, group in groupby(rows, lambda r: r["order_id"]))
    _insert_batches(bind, order_watches, plans)
    op.drop_index("ix_watches_due", table_name="watches")
    op.drop_table("watches")


def downgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("agency", sa.String(length=50), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fired_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "kind", "level", "agency"),
    )
    op.create_index("ix_watches_due", "watches", ["state", "due_at"])
    bind = op.get_bind()
    rows = bind.execute(sa.select(order_watches.c.order_id, order_watches.c.plan))
    entries = (
        {"order_id": row.order_id, **entry} for row in rows for entry in json.loads(row.plan)
    )
    _insert_batches(bind, watches, entries)
    op.drop_index("ix_order_watches_due", table_name="order_watches")
    op.drop_table("order_watches")


def _row(order_id: str, group: Iterable[Any]) -> dict[str, Any]:
    """One order's `order_watches` row from its `watches` rows (soonest first)."""
    plan = [{name: row[name] for name in ENTRY} for row in group]
    armed = [entry["due_at"] for entry in plan if entry["state"] == ARMED]
    return {
        "order_id": order_id,
        "plan": json.dumps(plan, ensure_ascii=False, separators=(",", ":")),
        "next_due": min(armed, default=None),
    }


def _insert_batches(bind: sa.Connection, table: Any, rows: Iterator[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            bind.execute(table.insert(), batch)
            batch = []
    if batch:
        bind.execute(table.insert(), batch)
