"""handoffs.traceparent: the trace a handoff was written in (W3C traceparent)

With tracing on, each handoff row keeps the trace context of the transaction that wrote
it, so its delivery attempts continue that trace (the hotline's request, an agency's
message), whichever process claims it and however late.

Revision ID: 0013_handoff_traceparent
Revises: 0012_claim_fence
Create Date: 2026-12-07 03:25:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_handoff_traceparent"
down_revision = "0012_claim_fence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("traceparent")
