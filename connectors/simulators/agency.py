"""A simulated agency system speaking Lianxin's signed REST protocol, on a real HTTP server.

It verifies the gateway's signature on every delivery, de-duplicates by `webhook-id`,
answers with its own case number, and then, for transfers it leads, sends signed status
updates back (签收 → 办理中 → 办结 with a result, in the profile's own words). It can be
told to be down for a number of deliveries to show retries and recovery.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    parse_signing_key,
    parse_verifying_key,
)
from gateway.domain.errors import SignatureError


@dataclass
class Script:
    """The updates an agency sends after accepting a transfer it leads."""

    steps: tuple[tuple[str, float], ...] = (("accepted", 0.05), ("working", 0.05), ("closed", 0.05))
    result: str = "已处理完毕，现场核实后已整改。"
    reasons: dict[str, str] = field(
        default_factory=lambda: {"rejected": "不属于本单位职责范围", "cancelled": "报警人撤销"}
    )


@dataclass
class AgencySimulator:
    """State and behaviour of one simulated agency; `app` is its ASGI application."""

    agency: str
    gateway_url: str
    gateway_keys: list[str]
    signing_key: str
    script: Script = field(default_factory=Script)
    prefix: str = "SIM"
    fail_next: int = 0
    fail_status: int = 503
    answer_delay: float = 0.0  # seconds each delivery waits for its answer (a slow agency)
    down_until: float = 0.0
    received: Counter[str] = field(default_factory=Counter)
    payloads: list[dict[str, Any]] = field(default_factory=list)
    traceparents: list[str | None] = field(default_factory=list)  # each delivery's, in order
    refused: int = 0
    outage_refusals: int = 0
    updates_sent: int = 0
    other_gateways: tuple[str, ...] = ()  # where to post updates when gateway_url fails
    updates_refused: list[str] = field(default_factory=list)
    update_failures: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._update_ids = itertools.count(1)
        self._cases: dict[str, str] = {}
        self._verifier = MessageVerifier([parse_verifying_key(k) for k in self.gateway_keys])
        self._signer = MessageSigner([parse_signing_key(self.signing_key)])
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = Starlette(
            routes=[
                Route("/orders", self._orders, methods=["POST"]),
                Route("/incidents", self._orders, methods=["POST"]),  # as 119/120 call it
                Route("/stats", self._stats, methods=["GET"]),
            ]
        )

    async def _orders(self, request: Request) -> JSONResponse:
        body = await request.body()
        self.traceparents.append(request.headers.get("traceparent"))
        try:
            message = self._verifier.verify(request.headers, body)
        except SignatureError as exc:
            self.refused += 1
            return JSONResponse({"error": exc.message}, 401)
        with self._lock:
            if self.fail_next > 0 or time.monotonic() < self.down_until:
                self.fail_next = max(0, self.fail_next - 1)
                self.outage_refusals += 1
                return JSONResponse({"error": "系统维护中 (simulated outage)"}, self.fail_status)
            first = message.msg_id not in self.received
            self.received[message.msg_id] += 1
            if first:  # a repeated delivery gets the case number it got the first time
                self._cases[message.msg_id] = f"{self.prefix}-{len(self.received):06d}"
            case_no = self._cases[message.msg_id]
        payload = json.loads(body)
        if first:
            self.payloads.append(payload)
        if first and payload.get("type") == "work_order.transfer" and payload.get("role") == "lead":
            task = asyncio.create_task(self._send_updates(payload["order_id"], case_no))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.sleep(self.answer_delay)
        return JSONResponse({"id": case_no, "duplicate": not first})

    async def _stats(self, _request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "deliveries": sum(self.received.values()),
                "unique": len(self.received),
                "refused": self.refused,
                "updates_sent": self.updates_sent,
            }
        )

    async def _send_updates(self, order_id: str, case_no: str) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            for code, delay in self.script.steps:
                await asyncio.sleep(delay)
                update: dict[str, Any] = {
                    "type": "status",
                    "order_id": order_id,
                    "status": code,
                    "agency_ref": case_no,
                    "occurred_at": datetime.now(UTC).isoformat(),
                }
                if code == self.script.steps[-1][0]:
                    update["result"] = self.script.result
                if code in self.script.reasons:
                    update["reason"] = self.script.reasons[code]
                await self._post_update(client, update)

    async def _post_update(self, client: httpx.AsyncClient, update: dict[str, Any]) -> None:
        body = json.dumps(update, ensure_ascii=False).encode()
        number = next(self._update_ids)
        msg_id = f"{self.prefix}-upd-{number:08d}"  # unique under concurrency
        gateways = (self.gateway_url, *self.other_gateways)
        for attempt in range(5):  # the agency side retries a little, as real systems do
            headers = {"content-type": "application/json", **self._signer.headers(msg_id, body)}
            # spread over the gateways, as a load balancer would; a dead one: try the next
            gateway = gateways[(number + attempt) % len(gateways)]
            try:
                response = await client.post(
                    f"{gateway}/v1/inbound/{self.agency}", content=body, headers=headers
                )
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
                continue
            if response.status_code < 500:
                self.updates_sent += 1
                if response.status_code >= 400:
                    self.updates_refused.append(response.text)
                return
            await asyncio.sleep(0.2)
        self.update_failures += 1

    def go_down(self, seconds: float) -> None:
        """Answer every delivery with `fail_status` for the next `seconds`."""
        self.down_until = time.monotonic() + seconds

    def unique_deliveries(self) -> int:
        """How many distinct handoff ids arrived."""
        return len(self.received)

    def duplicates(self) -> int:
        """How many deliveries repeated an id already processed."""
        return sum(self.received.values()) - len(self.received)
