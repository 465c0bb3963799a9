"""`lianxin evidence export ORDER -o FILE` on a stopped gateway's database, then
`lianxin evidence verify FILE` with nothing but the file and the published key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.crypto.signing import generate_ed25519_key, public_text_of
from tests.integration.evidence.trail import engine_for, filled

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def an_order(url: str) -> str:
    engine = engine_for(url)
    with engine.connect() as conn:
        order_id = conn.execute(text("SELECT id FROM work_orders ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    return str(order_id)


@pytest.mark.slow
def test_export_then_verify_offline(database_url: str, tmp_path: Path) -> None:
    key = generate_ed25519_key()
    witness = tmp_path / "witness.jsonl"
    filled(database_url, witness, orders=3, key=key)
    order_id = an_order(database_url)
    env = {
        "LIANXIN_DATABASE_URL": database_url,
        "LIANXIN_CHECKPOINT_KEY": key,
        "LIANXIN_WITNESS_FILES": json.dumps([str(witness)]),
    }
    out = tmp_path / "bundle.json"
    exported = cli("evidence", "export", order_id, "-o", str(out), "--by", "clerk-li", env=env)
    assert exported.returncode == 0, exported.stderr
    bundle = json.loads(out.read_text())["bundle"]
    assert bundle["order_id"] == order_id and bundle["exported_by"] == "clerk-li (cli)"
    assert bundle["witnesses"] == [f"file:{witness}"]
    verified = cli("evidence", "verify", str(out), "--key", public_text_of(key), env={})
    assert verified.returncode == 0, verified.stderr
    assert "evidence verified" in verified.stdout
    held = cli("evidence", "verify", str(out), "--witness", str(witness), env={})
    assert held.returncode == 0 and "held by 1 witness file" in held.stdout, held.stderr
    if database_url.startswith("sqlite"):  # another trail's witness does not hold ours
        other = tmp_path / "other-witness.jsonl"
        filled(f"sqlite:///{tmp_path / 'other.db'}", other, orders=1, key=key)
        alien = cli("evidence", "verify", str(out), "--witness", str(other), env={})
        assert alien.returncode == 1 and "not in the witness" in alien.stderr
    agency = agency_script(out, public_text_of(key))  # docs/evidence.md's own-tools script
    assert agency.returncode == 0 and f"order {order_id}" in agency.stdout, agency.stderr
    document = json.loads(out.read_text())
    document["bundle"]["entries"][0]["detail"] = '{"forged":true}'
    out.write_text(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    forged = agency_script(out, public_text_of(key))
    assert forged.returncode != 0 and "content does not match its hash" in forged.stderr


def agency_script(bundle: Path, key: str) -> subprocess.CompletedProcess[str]:
    script = Path(__file__).parents[3] / "docs" / "evidence" / "verify_bundle.py"
    return subprocess.run(
        [sys.executable, str(script), str(bundle), key],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_an_unknown_order_is_a_clear_error(sqlite_url: str, tmp_path: Path) -> None:
    filled(sqlite_url, tmp_path / "witness.jsonl", orders=1)
    env = {"LIANXIN_DATABASE_URL": sqlite_url}
    result = cli("evidence", "export", "wo_nothing", env=env)
    assert result.returncode == 2 and "unknown_order" in result.stderr


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(b'{"bundle": 1}\n')
    result = cli("evidence", "verify", str(path), env={})
    assert result.returncode == 1 and "evidence NOT verified" in result.stderr
    missing = cli("evidence", "verify", str(tmp_path / "none.json"), env={})
    assert missing.returncode == 2
