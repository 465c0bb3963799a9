"""Bring a database to the newest schema with Alembic (run at start-up, safe to repeat)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from gateway.store.sql import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Apply every migration not yet applied to `url`."""
    command.upgrade(alembic_config(url), "head")


def schema_lag(engine: Engine) -> str | None:
    """Why the database's schema is not the one this code expects, or None when it is."""
    expected = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == expected:
        return None
    return f"database schema at {sorted(current) or 'none'}, this code expects {sorted(expected)}"
