"""A simulated government message board (市长信箱 / 网民留言板) on a real HTTP server.

It numbers its own messages, serves them with cursor pagination
(`GET /messages?after=<cursor>&limit=N`, answer `{"messages": […], "next_cursor": …}`),
takes replies (`POST /messages/{id}/replies` → `{"id": "R-…"}`) and corrections
(`PUT /replies/{id}`), de-duplicates both on `webhook-id`, keeps the signature each
carried, and verifies the gateway's signature on every request when it knows the
gateway's keys. Tests add messages, read
the replies, and make it misbehave: overlapping pages, garbage pages, a rate limit that
answers 429 with Retry-After. Every request is logged with its time and answer.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    parse_signing_key,
    parse_verifying_key,
)
from gateway.domain.errors import SignatureError


@dataclass(frozen=True)
class Logged:
    """One request the board received, and how it answered."""

    at: float  # time.monotonic()
    method: str
    path: str
    query: str
    status: int
    retry_after: int | None = None


@dataclass
class Reply:
    """A reply on the board, with every version (the first, then each correction)."""

    id: str
    message_id: str
    versions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PortalBoardSimulator:
    """State and behaviour of one board; `app` is its ASGI application."""

    gateway_keys: list[str] = field(default_factory=list)
    prefix: str = "M"
    id_field: str = "id"
    overlap: int = 0  # each page starts this many messages before the cursor
    garbage_pages: int = 0  # the next N polls answer with a body that is not JSON
    rate_limit: tuple[int, float] | None = None  # (requests, per seconds), then 429
    throttled_replies: int = 0  # the next N replies/corrections answer 429 …
    reply_retry_after: int = 1  # … with this Retry-After (seconds)
    items: list[Any] = field(default_factory=list)
    replies: dict[str, Reply] = field(default_factory=dict)
    #: webhook-id → the signature its last reply or correction request carried
    signatures: dict[str, str] = field(default_factory=dict)
    log: list[Logged] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._verifier: MessageVerifier | None = None
        self.trust(self.gateway_keys)
        self._seen: dict[str, dict[str, Any]] = {}  # webhook-id → the answer given
        self._window: tuple[float, int] = (0.0, 0)
        self.app = Starlette(
            routes=[
                Route("/messages", self._messages, methods=["GET"]),
                Route("/messages/{message_id}/replies", self._reply, methods=["POST"]),
                Route("/replies/{reply_id}", self._correct, methods=["PUT"]),
            ]
        )

    def trust(self, gateway_keys: list[str]) -> None:
        """Verify the gateway's signatures with these public keys (none: do not verify)."""
        keys = [parse_verifying_key(k) for k in gateway_keys]
        self._verifier = MessageVerifier(keys) if keys else None

    def add(self, **fields: Any) -> str:
        """Post a citizen's message on the board; its new id."""
        with self._lock:
            message_id = f"{self.prefix}-{len(self.items) + 1:06d}"
            self.items.append({self.id_field: message_id, **fields})
        return message_id

    def add_raw(self, item: Any) -> None:
        """Put anything on the board as it is (bad data for tests)."""
        with self._lock:
            self.items.append(item)

    def reply_for(self, message_id: str) -> Reply | None:
        """The reply posted for `message_id`, if any."""
        return next((r for r in self.replies.values() if r.message_id == message_id), None)

    def requests(self, method: str | None = None) -> list[Logged]:
        """The requests received (of one method)."""
        return [x for x in self.log if method is None or x.method == method]

    def push(
        self, gateway_url: str, board: str, key: str, msg_id: str, order: dict[str, Any]
    ) -> httpx.Response:
        """As a push board: post one message to the gateway as a signed TransferIn."""
        body = json.dumps({"type": "transfer", "work_order": order}, ensure_ascii=False).encode()
        headers = MessageSigner([parse_signing_key(key)]).headers(msg_id, body)
        return httpx.post(
            f"{gateway_url}/v1/inbound/{board}",
            content=body,
            headers={"content-type": "application/json", **headers},
        )

    async def _messages(self, request: Request) -> Response:
        content = b"GET " + request.scope["raw_path"]
        if request.scope["query_string"]:
            content += b"?" + request.scope["query_string"]
        refused = self._gate(request, content)
        if refused is not None:
            return refused
        if self.garbage_pages > 0:
            self.garbage_pages -= 1
            return self._answer(request, Response(b"<html>502 Bad Gateway</html>", 200))
        after = int(request.query_params.get("after") or 0)
        limit = int(request.query_params.get("limit") or 20)
        start = max(0, after - self.overlap)
        with self._lock:
            page = self.items[start : start + limit]
        last = start + len(page)
        cursor = str(max(last, after)) if page or after else None
        return self._answer(request, JSONResponse({"messages": page, "next_cursor": cursor}))

    async def _reply(self, request: Request) -> Response:
        body = await request.body()
        self._note_signature(request)
        refused = self._gate(request, body) or self._throttle(request)
        if refused is not None:
            return refused
        message_id = request.path_params["message_id"]
        if not any(isinstance(m, dict) and m.get(self.id_field) == message_id for m in self.items):
            return self._answer(request, JSONResponse({"error": "no such message"}, 404))
        with self._lock:
            answer = self._seen.get(request.headers.get("webhook-id", ""))
            if answer is None:
                reply = Reply(f"R-{len(self.replies) + 1:06d}", message_id, [json.loads(body)])
                self.replies[reply.id] = reply
                answer = {"id": reply.id, "version": 1}
                self._seen[request.headers.get("webhook-id", "")] = answer
        return self._answer(request, JSONResponse(answer, 201))

    async def _correct(self, request: Request) -> Response:
        body = await request.body()
        self._note_signature(request)
        refused = self._gate(request, body) or self._throttle(request)
        if refused is not None:
            return refused
        reply = self.replies.get(request.path_params["reply_id"])
        if reply is None:
            return self._answer(request, JSONResponse({"error": "no such reply"}, 404))
        with self._lock:
            answer = self._seen.get(request.headers.get("webhook-id", ""))
            if answer is None:
                reply.versions.append(json.loads(body))
                answer = {"id": reply.id, "version": len(reply.versions)}
                self._seen[request.headers.get("webhook-id", "")] = answer
        return self._answer(request, JSONResponse(answer))

    def _note_signature(self, request: Request) -> None:
        with self._lock:
            message_id = request.headers.get("webhook-id", "")
            self.signatures[message_id] = request.headers.get("webhook-signature", "")

    def _gate(self, request: Request, content: bytes) -> Response | None:
        """401 for a bad signature, 429 over the rate limit; None to go on."""
        if self._verifier is not None:
            try:
                self._verifier.verify(request.headers, content)
            except SignatureError as exc:
                return self._answer(request, JSONResponse({"error": exc.message}, 401))
        wait = self._over_limit()
        if wait is not None:
            response = JSONResponse({"error": "请求过于频繁"}, 429, {"retry-after": str(wait)})
            return self._answer(request, response, wait)
        return None

    def _throttle(self, request: Request) -> Response | None:
        if self.throttled_replies <= 0:
            return None
        self.throttled_replies -= 1
        wait = self.reply_retry_after
        response = JSONResponse({"error": "请求过于频繁"}, 429, {"retry-after": str(wait)})
        return self._answer(request, response, wait)

    def _over_limit(self) -> int | None:
        if self.rate_limit is None:
            return None
        allowed, per = self.rate_limit
        now = time.monotonic()
        with self._lock:
            started, count = self._window
            if now - started >= per:
                started, count = now, 0
            self._window = (started, count + 1)
        if count < allowed:
            return None
        return max(1, math.ceil(started + per - now))

    def _answer(self, request: Request, response: Response, wait: int | None = None) -> Response:
        url = request.url
        entry = Logged(
            time.monotonic(), request.method, url.path, url.query, response.status_code, wait
        )
        self.log.append(entry)
        return response
