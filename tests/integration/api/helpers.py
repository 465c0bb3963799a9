"""Small builders shared by the API tests."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from gateway.crypto.signing import MessageSigner, parse_signing_key
from gateway.settings import REPO_ROOT
from gateway.world.orders import sample_order

order = sample_order  # the API tests' name for it


def signed_post(
    client: httpx.Client,
    agency: str,
    key: str,
    payload: dict[str, Any],
    msg_id: str,
    timestamp: int | None = None,
) -> httpx.Response:
    """POST `payload` to /v1/inbound/{agency}, signed with `key`."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = MessageSigner([parse_signing_key(key)]).headers(msg_id, body, timestamp)
    return client.post(
        f"/v1/inbound/{agency}",
        content=body,
        headers={"content-type": "application/json", **headers},
    )


def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def mappings_copy(into: Path, edits: dict[str, tuple[str, str]]) -> Path:
    """A copy of mappings/ with text replaced per file: {relative path: (old, new)}."""
    target = into / "mappings"
    shutil.copytree(REPO_ROOT / "mappings", target)
    for relative, (old, new) in edits.items():
        path = target / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{relative} has no '{old}'"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def emergency(flow_id: str, **changes: Any) -> dict[str, Any]:
    """A 12345 call that turns out to be a fire emergency."""
    base = order(
        flow_id,
        category="help",
        urgency="emergency",
        matter_code="EM-SMOKE",
        title="居民楼楼道冒烟",
        content="来电人称三楼楼道冒烟，有焦糊味，家中有老人。",
        location={
            "address": "广州市越秀区东风中路100号3楼",
            "division_code": "440104",
            "coordinates": {"longitude": 113.2665, "latitude": 23.1322, "datum": "GCJ02"},
        },
        caller={"name": "陈女士", "phone": "13800138000"},
        received_at=datetime.now(UTC).isoformat(),
    )
    return {**base, **changes}


def deadlines_set(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """What the timeline records of the deadlines set: a `deadlines_set` entry (older
    databases, orders transferred to the hotline), or the hotline intake's `received`
    entry, which holds it since intake writes one entry."""
    for entry in timeline:
        if entry["event"] == "deadlines_set":
            return dict(entry["detail"])
        if entry["event"] == "received" and entry["detail"].get("deadlines_set"):
            return dict(entry["detail"]["deadlines_set"])
    raise AssertionError("no deadlines on record")
