"""A simulated hotline platform receiving Lianxin's signed status callbacks."""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.crypto.signing import MessageVerifier, parse_verifying_key
from gateway.domain.errors import SignatureError


@dataclass
class HotlineSimulator:
    """Verifies each callback's signature, de-duplicates by id, keeps statuses per order."""

    gateway_keys: list[str]
    received: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    transfers: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    channel_alerts: list[dict[str, Any]] = field(default_factory=list)  # POSTed to /alerts
    agency_alerts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, …)
    refused: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._verifier = MessageVerifier([parse_verifying_key(k) for k in self.gateway_keys])
        self.app = Starlette(
            routes=[
                Route("/callbacks", self._callback, methods=["POST"]),
                Route("/alerts", self._callback, methods=["POST"]),  # an alert channel
            ]
        )

    async def _callback(self, request: Request) -> JSONResponse:
        body = await request.body()
        try:
            message = self._verifier.verify(request.headers, body)
        except SignatureError as exc:
            self.refused += 1
            return JSONResponse({"error": exc.message}, 401)
        payload = json.loads(body)
        with self._lock:
            first = message.msg_id not in self.received
            self.received[message.msg_id] += 1
            if first and payload["type"] == "work_order.status":
                self.statuses[payload["order_id"]].append(payload["status"])
            elif first and payload["type"] == "work_order.alert":
                on_channel = request.url.path == "/alerts"
                (self.channel_alerts if on_channel else self.alerts).append(payload)
            elif first and payload["type"] == "agency.alert":
                self.agency_alerts.append((request.url.path, payload))
            elif first:
                self.transfers.append(payload)
        return JSONResponse({"ok": True, "duplicate": not first})

    def alerts_for(self, order_id: str) -> list[str]:
        """The alerts received about `order_id`, oldest first."""
        return [a["alert"] for a in self.alerts if a["order_id"] == order_id]

    def statuses_told(self) -> int:
        """How many statuses have been told, over every order (read under the lock: the
        server's thread adds orders while a test counts)."""
        with self._lock:
            return sum(map(len, self.statuses.values()))

    def last_status(self, order_id: str) -> str | None:
        """The newest status reported for `order_id`."""
        seen = self.statuses.get(order_id)
        return seen[-1] if seen else None
