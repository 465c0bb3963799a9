"""agency standing: failures in a row, failing since when, and which alert was last raised

Revision ID: 0006_agency_standing
Revises: 0005
Create Date: 2026-11-27 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_agency_standing"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency_standing",
        sa.Column("agency", sa.String(length=50), primary_key=True),
        sa.Column("announced", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.Float(), nullable=True),
        sa.Column("exhausted_at", sa.Float(), nullable=True),
        sa.Column("exhausted_unreported", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agency_standing")
