"""agency pause: an operator holds deliveries to an agency (`lianxin agencies pause`)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency_state") as table:
        table.add_column(
            sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        table.add_column(sa.Column("changed_by", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agency_state") as table:
        table.drop_column("changed_by")
        table.drop_column("paused")
