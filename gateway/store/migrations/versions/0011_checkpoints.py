"""audit_checkpoints: signed checkpoints of the audit chain, and whether witnesses have them

Revision ID: 0011_checkpoints
Revises: 0007_open_fifo_index
Create Date: 2026-12-07 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_checkpoints"
down_revision = "0009_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column(
            "number",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("timestamp", sa.Text),
        sa.Column("leaves", sa.Text, nullable=False),
        sa.Column("witnessed", sa.Boolean, nullable=False),
    )
    op.create_index("ix_audit_checkpoints_last", "audit_checkpoints", ["last_seq"], unique=True)
    op.create_index(
        "ix_audit_checkpoints_unwitnessed",
        "audit_checkpoints",
        ["number"],
        postgresql_where=sa.text("NOT witnessed"),
        sqlite_where=sa.text("NOT witnessed"),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_unwitnessed", table_name="audit_checkpoints")
    op.drop_index("ix_audit_checkpoints_last", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
