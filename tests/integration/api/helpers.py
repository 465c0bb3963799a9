"""Small builders shared by the API tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from gateway.signing import MessageSigner, parse_signing_key


def order(flow_id: str = "GZ-1", **changes: Any) -> dict[str, Any]:
    """A valid tax consult, changed where asked."""
    base: dict[str, Any] = {
        "flow_id": flow_id,
        "acceptance_no": f"SL-{flow_id}",
        "category": "consult",
        "title": "个税专项附加扣除如何填报",
        "content": "市民咨询个人所得税专项附加扣除的填报方法。",
        "location": {"address": "广州市越秀区", "division_code": "440104"},
        "caller": {"name": "李先生", "phone": "13900001111"},
        "received_at": "2026-11-24T08:05:40+08:00",
    }
    return {**base, **changes}


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
