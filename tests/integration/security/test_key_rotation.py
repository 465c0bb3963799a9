"""Key rotation: old keys verify during the overlap window and fail after it; all audited."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.crypto.signing import generate_ed25519_key, public_text_of
from tests.conftest import Stack
from tests.integration.api.helpers import order, signed_post, wait_until

OVERLAP = 3.0


def update(order_id: str, status: str) -> dict[str, Any]:
    return {
        "type": "status",
        "order_id": order_id,
        "status": status,
        "occurred_at": "2026-11-27T10:00:00+08:00",
    }


@pytest.mark.slow
def test_an_agency_key_rotation_keeps_the_old_key_for_the_overlap_only(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(key_refresh_interval=0.2)
    gateway = stack.app.state.gateway
    old_key, new_key = stack.agency_keys["tax-12366"], generate_ed25519_key()
    with httpx.Client(base_url=stack.url) as client:
        order_id = client.post("/v1/work-orders", json=order("ROT-1")).json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "dispatched")
        gateway.store.run_sync(
            lambda uow: gateway.keyring.rotate_agency(
                uow, "tax-12366", public_text_of(new_key), OVERLAP, "ops-li"
            )
        )
        rotated = time.monotonic()
        time.sleep(0.5)  # one refresh
        during_old = signed_post(client, "tax-12366", old_key, update(order_id, "已签收"), "r1")
        during_new = signed_post(client, "tax-12366", new_key, update(order_id, "办理中"), "r2")
        time.sleep(max(0.0, OVERLAP + 0.6 - (time.monotonic() - rotated)))
        after_old = signed_post(client, "tax-12366", old_key, update(order_id, "已办结"), "r3")
        after_new = signed_post(client, "tax-12366", new_key, update(order_id, "已办结"), "r4")
        timeline = client.get(f"/v1/work-orders/{order_id}").json()["timeline"]
    assert during_old.status_code == 200, during_old.text
    assert during_new.status_code == 200, during_new.text
    assert after_old.status_code == 401 and "no signature matches" in after_old.text
    assert after_new.status_code == 200, after_new.text
    assert [e["to"] for e in _moves(timeline)][-3:] == ["signed", "in_progress", "resolved"]
    entries = gateway.store.run_sync(lambda uow: uow.keys.of("tax-12366"), writes=False)
    assert sorted((e.state, e.material is None) for e in entries) == [
        ("active", False),  # the new key
        ("retired", True),  # the configured key, tracked only to retire it
    ]


def _moves(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["detail"] for e in timeline if e["event"] == "status_applied"]


@pytest.mark.slow
def test_rotating_our_own_key_signs_with_both_during_the_overlap(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(key_refresh_interval=0.2, data_keys=[_data_key()])
    gateway = stack.app.state.gateway
    record = gateway.store.run_sync(lambda uow: gateway.keyring.rotate_self(uow, OVERLAP, "ops"))
    with httpx.Client(base_url=stack.url) as client:
        during = wait_until(lambda: _served(client, 2), what="both keys published")
        order_id = client.post("/v1/work-orders", json=order("ROT-2")).json()["id"]
        wait_until(lambda: stack.hotline.last_status(order_id) == "dispatched")
        after = wait_until(lambda: _served(client, 1), timeout=OVERLAP + 5, what="old key gone")
    assert stack.hotline.refused == 0, "the hotline, knowing only the old key, verified us"
    assert during[0] != public_text_of(stack.gateway_key) and after == during[:1]
    assert record.key_id in gateway.dispatcher.signers["hotline"].key_ids


def _served(client: httpx.Client, count: int) -> list[str] | None:
    keys: list[str] = client.get("/v1/keys").json()["keys"]
    return keys if len(keys) == count else None


def _data_key() -> Any:
    from pydantic import SecretStr

    from gateway.crypto.sealing import generate_data_key

    return SecretStr(generate_data_key())


@pytest.mark.slow  # left out of the fast tier (README, "Tests")
def test_the_cli_rotates_and_lists_keys_and_the_audit_names_who(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LIANXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}",
        "LIANXIN_HOTLINE_CALLBACK_URL": "http://127.0.0.1:9/callbacks",
        "LIANXIN_DATA_KEYS": f'["{_data_key().get_secret_value()}"]',
        "LIANXIN_SIGNING_KEYS": f'["{generate_ed25519_key()}"]',
    }

    def lianxin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    rotated = lianxin("keys", "rotate", "self", "--overlap", "60", "--by", "ops-li")
    agency = lianxin(
        "keys", "rotate", "police-110", "--key", public_text_of(generate_ed25519_key())
    )
    wrong = lianxin("keys", "rotate", "self", "--key", "whpk_x")
    unknown = lianxin("keys", "rotate", "nobody", "--key", public_text_of(generate_ed25519_key()))
    listed = lianxin("keys", "list")
    listed_json = lianxin("keys", "list", "--json")
    assert rotated.returncode == 0, rotated.stderr
    assert "self: new v1a key" in rotated.stdout
    assert agency.returncode == 0, agency.stderr
    assert wrong.returncode == 2 and "no --key for 'self'" in wrong.stderr
    assert unknown.returncode == 2 and "no agency profile named 'nobody'" in unknown.stderr
    # our configured key retires after the overlap; 110 had no configured key to retire
    assert listed.stdout.count("retiring") == 1 and listed.stdout.count("active") == 2
    keys = json.loads(listed_json.stdout)
    assert sorted(k["state"] for k in keys) == ["active", "active", "retiring"]
    assert {k["owner"] for k in keys} == {"self", "police-110"}
    assert all("material" not in k and k["created_at"].endswith("+00:00") for k in keys)
    assert [k["retire_at"] is not None for k in keys].count(True) == 1
    verify = lianxin("audit", "verify")
    assert verify.returncode == 0, verify.stderr
    with sqlite3.connect(tmp_path / "keys.db") as db:
        rows = db.execute("select party, detail from audit_log where event = 'key_rotated'")
        rotations = {party: json.loads(detail) for party, detail in rows}
    assert rotations["self"]["by"] == "ops-li" and rotations["self"]["overlap_seconds"] == 60
    assert len(rotations["self"]["retiring"]) == 1 and rotations["police-110"]["retiring"] == []
