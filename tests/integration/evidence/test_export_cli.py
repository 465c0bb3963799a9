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

from gateway.bootstrap import open_sql_store
from gateway.crypto.signing import generate_ed25519_key, public_text_of
from gateway.domain.audit import AuditEvent, AuditKind
from gateway.service.ports.store import UnitOfWork
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


def older_entries(order_id: str) -> list[AuditEvent]:
    """What a database written before one unit of work wrote one entry holds for a
    delivered transfer: routed, deadlines_set, mapped, signed, sent, acknowledged."""
    about = {"order_id": order_id, "handoff_id": "msg_older", "party": "tax-12366"}
    body, answer = "b" * 64, "a" * 64
    return [
        AuditEvent(AuditKind.routed, order_id=order_id, detail={"agencies": ["tax-12366"]}),
        AuditEvent(AuditKind.deadlines_set, order_id=order_id, detail={"policy": "default"}),
        AuditEvent(AuditKind.mapped, payload_digest=body, detail={"kind": "transfer"}, **about),
        AuditEvent(AuditKind.signed, payload_digest=body, signature="v1a,older", **about),
        AuditEvent(AuditKind.sent, payload_digest=body, detail={"ms": 3.0}, **about),
        AuditEvent(
            AuditKind.acknowledged, payload_digest=answer, detail={"request_digest": body}, **about
        ),
    ]


def append_all(uow: UnitOfWork, entries: list[AuditEvent]) -> None:
    for entry in entries:
        uow.audit.append(entry)


@pytest.mark.slow
def test_a_bundle_with_entries_of_both_forms_verifies(database_url: str, tmp_path: Path) -> None:
    key = generate_ed25519_key()
    witness = tmp_path / "witness.jsonl"
    filled(database_url, witness, orders=1, key=key)
    order_id = an_order(database_url)
    store = open_sql_store(database_url)
    try:
        store.run_sync(lambda uow: append_all(uow, older_entries(order_id)))
    finally:
        store.engine.dispose()
    env = {
        "LIANXIN_DATABASE_URL": database_url,
        "LIANXIN_CHECKPOINT_KEY": key,
        "LIANXIN_WITNESS_FILES": json.dumps([str(witness)]),
    }
    out = tmp_path / "bundle.json"
    exported = cli("evidence", "export", order_id, "-o", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    messages = json.loads(out.read_text())["bundle"]["messages"]
    by_event = {(m["event"], m["handoff_id"]): m for m in messages}
    assert by_event["signed", "msg_older"]["signature"] == "v1a,older"  # the older form
    assert by_event["acknowledged", "msg_older"]["payload_digest"] == "a" * 64
    delivered = [m for m in messages if m["event"] == "delivered"]  # the newer form
    assert delivered and all(m["signature"] and m["payload_digest"] for m in delivered)
    verified = cli("evidence", "verify", str(out), "--key", public_text_of(key), env={})
    assert verified.returncode == 0, verified.stderr
    chain = cli("audit", "verify", "--database", database_url, env={})
    assert chain.returncode == 0, chain.stderr
