"""Evidence bundles over the real API and CLI: exported, verified offline, and every
flipped byte refused with a message that says what broke."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.simulators.agency import Script
from gateway.crypto.signing import generate_ed25519_key, public_text_of
from gateway.domain.errors import EvidenceError
from gateway.domain.evidence import UNRECORDED
from gateway.service.bundle_check import verify_bundle
from tests.conftest import Stack
from tests.integration.api.helpers import order, wait_until
from tests.integration.evidence.test_export_cli import agency_script
from tests.integration.ops.helpers import api_tokens, as_role

pytestmark = pytest.mark.both_databases  # the store is the subject: SQLite and PostgreSQL

TAX_SCRIPT = Script(steps=(("已签收", 0.0), ("办理中", 0.0), ("已办结", 0.0)), result="已答复")
PHONE = "13812345678"
ADMIN_TOKEN = f"admin-{secrets.token_hex(16)}"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def resolved(make_stack: Callable[..., Stack], tmp_path: Path) -> tuple[Stack, str, str]:
    """A stack with a file witness and API tokens, and one order taken to `resolved`."""
    checkpoint_key = generate_ed25519_key()
    stack = make_stack(
        scripts={"tax-12366": TAX_SCRIPT},
        checkpoint_key=SecretStr(checkpoint_key),
        witness_files=[tmp_path / "witness.jsonl"],
        api_tokens={**api_tokens(), "audit-zhao": {"role": "admin", "token": ADMIN_TOKEN}},
    )
    submitted = order("GZ-EVIDENCE")
    submitted["caller"] = {"name": "张三", "phone": PHONE}
    with httpx.Client(base_url=stack.url, headers=as_role("hotline")) as client:
        accepted = client.post("/v1/work-orders", json=submitted)
        assert accepted.status_code == 202, accepted.text
        order_id = accepted.json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "resolved", what="callback")
    return stack, order_id, checkpoint_key


def fetch(stack: Stack, order_id: str, role: str, personal_data: str = "masked") -> httpx.Response:
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"} if role == "admin" else as_role(role)
    with httpx.Client(base_url=stack.url, headers=headers, timeout=30) as client:
        query = {"personal_data": personal_data}
        return client.get(f"/v1/work-orders/{order_id}/evidence", params=query)


def from_agency(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages the bundle says tax-12366 sent."""
    return [m for m in bundle["messages"] if m["party"] == "tax-12366" and m["direction"] == "in"]


def test_the_hotline_gets_a_bundle_that_verifies_offline(
    resolved: tuple[Stack, str, str], tmp_path: Path
) -> None:
    stack, order_id, checkpoint_key = resolved
    answer = fetch(stack, order_id, "hotline")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    bundle = answer.json()["bundle"]
    events = [entry["event"] for entry in bundle["entries"]]
    assert {"received", "delivered", "status_applied"} <= set(events)
    messages = bundle["messages"]
    assert any(m["signature"] and m["signature"].startswith("v1a,") for m in messages)
    delivered = [m for m in messages if m["event"] == "delivered"]
    assert delivered and all(  # each delivery: the digest of what was sent and its signature
        m["direction"] == "out" and len(m["payload_digest"]) == 64 and m["signature"]
        for m in delivered
    )
    assert any(  # the agency's signed updates, by their webhook-id
        m["direction"] == "in" and m["message_id"] and m["party"] == "tax-12366" for m in messages
    )
    assert PHONE not in answer.text and "张三" not in answer.text
    witnessed = (tmp_path / "witness.jsonl").read_text()
    for checkpoint in bundle["checkpoints"]:
        assert checkpoint["signature"] in witnessed  # each was sent to the witness
    path = tmp_path / "evidence.json"
    path.write_bytes(answer.content)
    result = cli("evidence", "verify", str(path), "--key", public_text_of(checkpoint_key))
    assert result.returncode == 0, result.stderr
    assert f"order {order_id}" in result.stdout and f"{len(events)} audit entries" in result.stdout
    stranger = public_text_of(generate_ed25519_key())
    result = cli("evidence", "verify", str(path), "--key", stranger)
    assert result.returncode == 1 and "not trusted" in result.stderr


def test_only_the_hotline_and_admins_may_export(resolved: tuple[Stack, str, str]) -> None:
    stack, order_id, _ = resolved
    assert fetch(stack, order_id, "operator").status_code == 403
    assert fetch(stack, order_id, "viewer").status_code == 403
    with httpx.Client(base_url=stack.url) as client:
        assert client.get(f"/v1/work-orders/{order_id}/evidence").status_code == 401
    missing = fetch(stack, "no-such-order", "hotline")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_order"


@pytest.mark.slow
@pytest.mark.parametrize(("role", "personal_data"), [("hotline", "masked"), ("admin", "plain")])
def test_every_flipped_byte_is_refused_and_named(
    resolved: tuple[Stack, str, str], role: str, personal_data: str
) -> None:
    stack, order_id, _ = resolved
    raw = fetch(stack, order_id, role, personal_data).content
    verify_bundle(raw)
    step = max(1, len(raw) // 2500)  # about 2,500 positions spread over every part
    for position in range(0, len(raw), step):
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        with pytest.raises(EvidenceError) as refused:
            verify_bundle(bytes(flipped))
        assert refused.value.message, position


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda b: _flip_last(b["entries"][2], "detail"), "content does not match its hash"),
        (lambda b: _flip_last(b["proofs"][1]["path"], 0), "inclusion proof does not lead"),
        (lambda b: _flip_last(b["checkpoints"][0]["statement"], "root"), "signature does not"),
        (lambda b: _flip_last(_digested(b["messages"]), "payload_digest"), "is not what the"),
        (lambda b: b.update(exported_by="someone else"), "seal: signature does not verify"),
        (lambda b: b["proofs"].pop(), "has no inclusion proof"),
    ],
    ids=["entry", "proof", "checkpoint", "message", "header", "missing-proof"],
)
def test_each_part_names_itself_when_changed(
    resolved: tuple[Stack, str, str], change: Callable[[dict], object], named: str
) -> None:
    stack, order_id, _ = resolved
    document = json.loads(fetch(stack, order_id, "hotline").content)
    change(document["bundle"])
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    with pytest.raises(EvidenceError, match=named):
        verify_bundle(text.encode())


def test_an_admin_bundle_with_bodies_verifies_every_agency_signature_offline(
    resolved: tuple[Stack, str, str], tmp_path: Path
) -> None:
    stack, order_id, checkpoint_key = resolved
    answer = fetch(stack, order_id, "admin", "plain")
    assert answer.status_code == 200, answer.text
    bundle = answer.json()["bundle"]
    assert bundle["personal_data"] == "plain"
    received = from_agency(bundle)
    assert received and all(
        m["signed"]["scheme"] == "standard-webhooks" and m["body"] for m in received
    )
    updates = {m["message_id"] for m in received}
    assert verify_bundle(answer.content).senders["verified"] == len(updates) >= 3
    path = tmp_path / "evidence.json"
    path.write_bytes(answer.content)
    result = cli("evidence", "verify", str(path), "--key", public_text_of(checkpoint_key))
    assert result.returncode == 0, result.stderr
    assert f"{len(updates)} sender signature(s) verified" in result.stdout
    agency = agency_script(path, public_text_of(checkpoint_key))  # docs/evidence.md's script
    assert agency.returncode == 0 and f"'verified': {len(updates)}" in agency.stdout, agency.stderr


def test_a_masked_bundle_keeps_the_signatures_and_withholds_the_bodies(
    resolved: tuple[Stack, str, str],
) -> None:
    stack, order_id, _ = resolved
    assert fetch(stack, order_id, "hotline", "plain").status_code == 403
    answer = fetch(stack, order_id, "hotline")
    received = from_agency(answer.json()["bundle"])
    assert received and all(m["signed"]["signature"] and m["body"] is None for m in received)
    updates = {m["message_id"] for m in received}
    report = verify_bundle(answer.content)
    assert report.senders["withheld"] == len(updates)
    intake = [  # the hotline's own submission: bearer token, no signature, and it says so
        m
        for m in answer.json()["bundle"]["messages"]
        if m["party"] == "hotline" and m["direction"] == "in"
    ]
    assert intake and all(m["signed"] == UNRECORDED for m in intake)
    assert report.senders["unsigned"] >= 1


def test_an_agency_key_not_its_own_is_named(resolved: tuple[Stack, str, str]) -> None:
    stack, order_id, _ = resolved
    document = json.loads(fetch(stack, order_id, "admin", "plain").content)
    document["bundle"]["keys"]["tax-12366"] = [public_text_of(generate_ed25519_key())]
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    with pytest.raises(EvidenceError, match=r"from tax-12366, id .*: the sender's signature"):
        verify_bundle(text.encode())


def test_a_changed_layout_is_refused() -> None:
    with pytest.raises(EvidenceError, match="not JSON"):
        verify_bundle(b"{")
    with pytest.raises(EvidenceError, match="not laid out as exported"):
        verify_bundle(b'{"bundle": {}, "seal": {}}')


def _flip_last(container: Any, key: str | int) -> None:
    """Change the last character of a text value (to another hex digit where it is hex)."""
    value = container[key]
    container[key] = value[:-1] + ("0" if value[-1] != "0" else "1")


def _digested(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return next(m for m in messages if m["payload_digest"])
