"""inbound_messages.body: the exact bytes each received message's sender signed

Kept sealed with the data keys (like handoff bodies) so an evidence bundle exported with
personal data can carry them, and an agency's signature verifies again offline.

Revision ID: 0014_inbound_bodies
Revises: 0013_handoff_traceparent
Create Date: 2026-12-07 05:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_inbound_bodies"
down_revision = "0013_handoff_traceparent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("body", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("body")
