"""security: revoked console sessions, and the row readiness writes to prove writes work

`console_revocations` holds the nonce of every console session ended before its time
(logout), until the session would have expired anyway, so that every process sharing the
database refuses the cookie at once. `readiness_probes` holds one row per node, rewritten
by `/readyz` to prove that the database still takes writes.

Revision ID: 0009_security
Revises: 0007_open_fifo_index
Create Date: 2026-12-07 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_security"
down_revision = "0007_open_fifo_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_revocations",
        sa.Column("nonce", sa.String(length=64), primary_key=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "readiness_probes",
        sa.Column("node", sa.String(length=80), primary_key=True),
        sa.Column("at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("readiness_probes")
    op.drop_table("console_revocations")
