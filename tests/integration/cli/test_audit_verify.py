"""`lianxin audit verify` against a real audit trail tampered with by plain SQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from connectors.memory import MemoryConnector
from gateway.bootstrap import bootstrap
from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.workorder import WorkOrderIn
from gateway.settings import Settings
from tests.integration.api.helpers import order

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL


def filled(url: str) -> None:
    """Three orders through intake and delivery (memory connectors): ~30 audit entries."""

    async def run() -> None:
        settings = Settings(
            database_url=url,
            hotline_callback_url="memory://hotline",
            signing_keys=[SecretStr(generate_ed25519_key())],
        )
        fakes = {
            name: MemoryConnector(name) for name in ("hotline", "tax-12366", "city-management")
        }
        gw = bootstrap(settings, connector_overrides=fakes)
        gw.start()
        for n in range(3):
            submitted = WorkOrderIn.model_validate(order(f"GZ-{n}"))
            await gw.store.write(lambda uow, s=submitted: gw.intake.accept(uow, s))
        gw.dispatcher.wake_all()
        while len(fakes["hotline"].delivered) < 3:
            await asyncio.sleep(0.02)
        await gw.aclose()

    asyncio.run(run())


def verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "audit", "verify", "--database", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def tamper(url: str, *statements: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


@pytest.mark.slow
def test_an_untouched_trail_verifies(database_url: str) -> None:
    filled(database_url)
    result = verify(database_url)
    assert result.returncode == 0, result.stderr
    assert "audit chain verified" in result.stdout


@pytest.mark.parametrize(
    ("statements", "named", "why"),
    [
        (
            ["UPDATE audit_log SET event = 'acknowledged' WHERE seq = 7"],
            7,
            "content does not match its hash",
        ),
        (["DELETE FROM audit_log WHERE seq = 5"], 6, "entry 5 is missing"),
        (
            [
                "INSERT INTO audit_log (seq, at_us, event, detail, prev_hash, entry_hash) "
                "SELECT max(seq) + 1, 0, 'sent', '{}', 'x', 'y' FROM audit_log"
            ],
            None,
            "link to the previous entry is broken",
        ),
        (
            [
                "UPDATE audit_log SET seq = -4 WHERE seq = 4",
                "UPDATE audit_log SET seq = 4 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = -4",
            ],
            3,
            "link to the previous entry is broken",
        ),
        (
            ["DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"],
            None,
            "but the head records",
        ),
    ],
    ids=["edited", "deleted", "inserted", "reordered", "tail-cut"],
)
@pytest.mark.slow
def test_tampering_is_found_and_the_entry_named(
    database_url: str,
    statements: list[str],
    named: int | None,
    why: str,
) -> None:
    filled(database_url)
    tamper(database_url, *statements)
    result = verify(database_url)
    assert result.returncode == 1
    assert "audit chain BROKEN at entry" in result.stderr and why in result.stderr
    if named is not None:
        assert f"BROKEN at entry {named}:" in result.stderr


def test_a_missing_database_file_is_reported_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "audit",
            "verify",
            "--database",
            f"sqlite:///{missing}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "no database file" in result.stderr
    assert not missing.exists()
