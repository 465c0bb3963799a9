"""`lianxin audit verify --witness FILE` finds each rewrite a database writer can make
consistent, names the first entry that no longer matches, and the plain check does not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection

from tests.integration.evidence.trail import (
    cut_tail,
    delete_and_renumber,
    delete_everything,
    edit_and_rehash,
    engine_for,
    filled,
    verify,
)

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

Rewrite = Callable[[Connection], int]
REWRITES: dict[str, Rewrite] = {
    "cut-last-50": lambda conn: cut_tail(conn, 50),
    "delete-everything": delete_everything,
    "edit-one-and-rehash": lambda conn: edit_and_rehash(conn, 23),
    "delete-one-and-renumber": lambda conn: delete_and_renumber(conn, 31),
}


@pytest.mark.slow
def test_an_untouched_trail_matches_its_witness(database_url: str, tmp_path: Path) -> None:
    witness = tmp_path / "witness.jsonl"
    filled(database_url, witness)
    lines = witness.read_text().splitlines()
    assert len(lines) >= 5  # checkpoints of 10 entries, and the closing one
    result = verify(database_url, "--witness", str(witness))
    assert result.returncode == 0, result.stderr
    assert "match" in result.stdout and f"{len(lines)} witnessed checkpoints" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("rewrite", list(REWRITES), ids=list(REWRITES))
def test_each_rewrite_is_found_and_the_first_bad_entry_named(
    database_url: str, tmp_path: Path, rewrite: str
) -> None:
    witness = tmp_path / "witness.jsonl"
    filled(database_url, witness)
    engine = engine_for(database_url)
    with engine.begin() as conn:
        first_bad = REWRITES[rewrite](conn)
    engine.dispose()
    alone = verify(database_url)
    assert alone.returncode == 0, "the rewrite should fool the chain check on its own"
    result = verify(database_url, "--witness", str(witness))
    assert result.returncode == 1, result.stdout
    assert f"does NOT match the witness at entry {first_bad}:" in result.stderr, result.stderr


@pytest.mark.slow
def test_a_forged_witness_line_is_refused(database_url: str, tmp_path: Path) -> None:
    witness = tmp_path / "witness.jsonl"
    filled(database_url, witness, orders=2)
    lines = witness.read_text().splitlines()
    data = json.loads(lines[0])
    data["checkpoint"]["statement"]["root"] = "0" * 64
    witness.write_text("\n".join([json.dumps(data), *lines[1:]]) + "\n")
    result = verify(database_url, "--witness", str(witness))
    assert result.returncode == 1
    assert "checkpoint 1: signature does not verify" in result.stderr


@pytest.mark.slow
def test_checkpoints_signed_by_another_key_are_refused_when_a_key_is_pinned(
    sqlite_url: str, tmp_path: Path
) -> None:
    from gateway.crypto.signing import generate_ed25519_key, public_text_of

    witness = tmp_path / "witness.jsonl"
    filled(sqlite_url, witness, orders=1)
    other = public_text_of(generate_ed25519_key())
    result = verify(sqlite_url, "--witness", str(witness), "--key", other)
    assert result.returncode == 1 and "not trusted" in result.stderr
