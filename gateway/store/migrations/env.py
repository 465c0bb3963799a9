"""Alembic environment: migrations run online against the configured URL.

On PostgreSQL the migration transaction first takes an advisory lock, so gateways that
start at the same moment on one database migrate it one after the other: the first
applies the migrations, the others wait, then find the schema current and do nothing.
(SQLite is one process's file; see docs/scaling.md.)"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool, text

from gateway.store.schema import metadata

MIGRATION_LOCK = 0x4C58_4D49  # "LXMI": the advisory lock key every gateway migrates under


def serialise_with_other_gateways(connection: Connection) -> None:
    """Hold the migration lock until this transaction ends (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


url = context.config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set"
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    serialise_with_other_gateways(connection)
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()  # the migrations and the lock's release, on PostgreSQL
engine.dispose()
