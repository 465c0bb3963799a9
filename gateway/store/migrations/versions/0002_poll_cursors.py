"""poll cursors: where each polled message board was read up to

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_cursors",
        sa.Column("party", sa.String(length=50), nullable=False),
        sa.Column("cursor", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("party"),
    )


def downgrade() -> None:
    op.drop_table("poll_cursors")
