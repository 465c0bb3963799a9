"""RFC 3161 time-stamps on checkpoints from a TSA on loopback, checked by `openssl ts -verify`."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.crypto.signing import generate_ed25519_key
from gateway.domain.checkpoint import Checkpoint
from gateway.domain.errors import EvidenceError
from gateway.service.bundle_check import verify_bundle
from tests.integration.evidence.test_export_cli import an_order, cli
from tests.integration.evidence.trail import filled
from tests.integration.evidence.tsa import LoopbackTsa, start_tsa


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LoopbackTsa]:
    (tmp_path / "tsa").mkdir()
    authority = start_tsa(tmp_path / "tsa")
    yield authority
    authority.stop()


def witnessed(path: Path) -> list[Checkpoint]:
    lines = path.read_text().splitlines()
    return [Checkpoint.from_json(json.loads(line)["checkpoint"]) for line in lines]


def openssl_verify(
    checkpoint: Checkpoint, tsa: LoopbackTsa, work: Path
) -> subprocess.CompletedProcess[str]:
    assert checkpoint.timestamp is not None
    n = checkpoint.statement.number
    (work / f"statement-{n}.json").write_bytes(checkpoint.statement.to_bytes())
    (work / f"stamp-{n}.tsr").write_bytes(base64.b64decode(checkpoint.timestamp))
    return subprocess.run(
        [
            "openssl", "ts", "-verify", "-data", f"statement-{n}.json", "-in", f"stamp-{n}.tsr",
            "-CAfile", str(tsa.ca),
        ],
        cwd=work, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_every_checkpoint_is_stamped_and_openssl_verifies_it(
    sqlite_url: str, tmp_path: Path, tsa: LoopbackTsa
) -> None:
    witness = tmp_path / "witness.jsonl"
    filled(sqlite_url, witness, orders=3, tsa_url=tsa.url)
    checkpoints = witnessed(witness)
    # a pass cancelled at shutdown may have asked for a stamp it never stored
    assert checkpoints and tsa.stamps >= len(checkpoints)
    for checkpoint in checkpoints:
        result = openssl_verify(checkpoint, tsa, tmp_path)
        assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stderr


def test_a_stamp_does_not_verify_for_another_statement(
    sqlite_url: str, tmp_path: Path, tsa: LoopbackTsa
) -> None:
    witness = tmp_path / "witness.jsonl"
    filled(sqlite_url, witness, orders=1, tsa_url=tsa.url)
    first, *_ = witnessed(witness)
    (tmp_path / "other.json").write_bytes(
        first.statement.to_bytes().replace(b'"number":1', b'"number":9')
    )
    (tmp_path / "stamp.tsr").write_bytes(base64.b64decode(first.timestamp or ""))
    result = subprocess.run(
        [
            "openssl", "ts", "-verify", "-data", "other.json", "-in", "stamp.tsr",
            "-CAfile", str(tsa.ca),
        ],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "Verification: FAILED" in result.stdout


def test_without_a_reachable_tsa_checkpoints_are_still_signed_and_witnessed(
    sqlite_url: str, tmp_path: Path, tsa: LoopbackTsa
) -> None:
    url = tsa.url
    tsa.stop()
    witness = tmp_path / "witness.jsonl"
    filled(sqlite_url, witness, orders=1, tsa_url=url)
    checkpoints = witnessed(witness)
    assert checkpoints and all(c.timestamp is None for c in checkpoints)


@pytest.mark.slow
def test_a_bundle_carries_the_stamps_and_a_stamp_moved_to_another_checkpoint_is_named(
    sqlite_url: str, tmp_path: Path, tsa: LoopbackTsa
) -> None:
    key = generate_ed25519_key()
    witness = tmp_path / "witness.jsonl"
    filled(sqlite_url, witness, orders=4, key=key, tsa_url=tsa.url)
    env = {
        "LIANXIN_DATABASE_URL": sqlite_url,
        "LIANXIN_CHECKPOINT_KEY": key,
        "LIANXIN_TSA_URL": tsa.url,
    }
    out = tmp_path / "bundle.json"
    order_id = an_order(sqlite_url)
    assert cli("evidence", "export", order_id, "-o", str(out), env=env).returncode == 0
    report = verify_bundle(out.read_bytes())
    assert report.stamped == len(report.checkpoints) >= 1
    document = json.loads(out.read_text())
    mine = document["bundle"]["checkpoints"][0]
    other = next(c for c in witnessed(witness) if c.signature != mine["signature"])
    mine["timestamp"] = other.timestamp
    moved = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    number = mine["statement"]["number"]
    with pytest.raises(EvidenceError, match=f"checkpoint {number}: its time-stamp is over other"):
        verify_bundle(moved.encode())
