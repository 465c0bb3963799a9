"""Gateways started at once on an empty PostgreSQL database: the migrations run once.

Each `lianxin serve` migrates at start-up, and compose or an orchestrator may start
several at the same moment; without the lock they raced to create the same tables."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from gateway.store.migrate import MIGRATIONS

PROCESSES = 4
UPGRADE = "import sys; from gateway.store.migrate import upgrade; upgrade(sys.argv[1])"


def newest_revision() -> str:
    """The head revision, read from the migration files (one linear history)."""
    from alembic.script import ScriptDirectory

    from gateway.store.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, f"no migrations under {MIGRATIONS}"
    return head


@pytest.mark.slow
def test_gateways_started_at_once_on_an_empty_database_all_migrate_it(postgres_url: str) -> None:
    started = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE, postgres_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outcomes = [(p.wait(120), p.stdout.read() if p.stdout else "") for p in started]
    assert [code for code, _ in outcomes] == [0] * PROCESSES, outcomes
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert versions == [newest_revision()]
