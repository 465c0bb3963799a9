"""watches (deadline cards, emergency acknowledgement deadlines); a per-agency claim index

Claims now read one agency and lane at a time, in (next_attempt_at, seq) order, and stop
at the quota: the due-handoff index becomes (state, agency, lane, next_attempt_at, seq).
Under a 100,000-row backlog for one agency the old single query sorted every due row
(290 ms on PostgreSQL) or, skipping a saturated agency, read the whole backlog (seconds).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.drop_index("ix_handoffs_due", table_name="handoffs")
    op.create_index(
        "ix_handoffs_due", "handoffs", ["state", "agency", "lane", "next_attempt_at", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_handoffs_due", table_name="handoffs")
    op.create_index("ix_handoffs_due", "handoffs", ["state", "lane", "next_attempt_at"])
    op.drop_index("ix_watches_due", table_name="watches")
    op.drop_table("watches")
