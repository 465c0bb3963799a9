"""open handoffs only: a partial index for the claim's FIFO check

The claim skips a handoff while an older one of its order and agency is still open
(pending or in flight). Probed through `ix_handoffs_fifo`, that check read every earlier
handoff of the order and agency from the table to look at its state, delivered ones
included; this index holds open handoffs only, so the check is one index-only probe
however long the order's history.

Revision ID: 0007_open_fifo_index
Revises: 0006_agency_standing
Create Date: 2026-11-27 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_open_fifo_index"
down_revision = "0006_agency_standing"
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('pending', 'in_flight')")


def upgrade() -> None:
    op.create_index(
        "ix_handoffs_open_fifo",
        "handoffs",
        ["order_id", "agency", "seq"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_handoffs_open_fifo", table_name="handoffs")
