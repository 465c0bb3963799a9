"""claim tokens: an outcome is recorded only by the attempt that still holds the handoff

Each claim writes a fresh token on the handoff; the statement that records a delivery's
outcome matches that token (and the `in_flight` state), so the late result of an attempt
whose lease ran out, and whose handoff was claimed again, changes nothing.

Revision ID: 0012_claim_fence
Revises: 0007_open_fifo_index
Create Date: 2026-12-07 02:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_claim_fence"
down_revision = "0011_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("claim", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("claim")
