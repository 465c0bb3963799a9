"""signing keys: rotated keys with their overlap windows (`lianxin keys rotate`)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 16:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("owner", sa.String(length=50), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("material", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("retire_at", sa.Float(), nullable=True),
        sa.Column("retired_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("owner", "key_id"),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
