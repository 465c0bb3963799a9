"""Request limits as plain ASGI middleware: oversized headers get 431 and oversized bodies
413, before any parsing (the HTTP server's own header limit depends on its parser).

Many clients (urllib, most SOAP stacks) send the whole body before they read an answer. A
server that answers early and closes with their data unread makes the kernel reset the
connection, and the client never sees the 413 (RFC 9112 §9.6). So every refusal here reads
and discards what is left of the body, up to `DRAIN_LIMIT` bytes, before it answers; a
body declared larger than that is answered at once with `Connection: close`."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.soap.xml import fault
from gateway.api.errors import error_body

DRAIN_LIMIT = 64 * 1024 * 1024  # bytes read and thrown away so the client hears the answer


class BodyLimit:
    """Refuse request bodies larger than `max_bytes`, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_header_bytes: int = 32_768) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            text = f"request headers exceed {self.max_header_bytes} bytes"
            await refuse(scope, receive, send, 431, "headers_too_large", text)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._too_large(scope, receive, send, len(body))
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, read: int = 0) -> None:
        message = f"request body exceeds {self.max_bytes} bytes"
        await refuse(scope, receive, send, 413, "payload_too_large", message, read=read)


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    message: str,
    json_body: bytes | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
    read: int = 0,
) -> None:
    """Answer `status` (a SOAP Fault on /soap/…, else the JSON error body) after draining."""
    if str(scope.get("path", "")).startswith("/soap/"):
        raw, kind = fault("Client", f"{code}: {message}"), b"text/xml; charset=utf-8"
    else:
        raw, kind = json_body or json.dumps(error_body(code, message)).encode(), b"application/json"
    headers = [(b"content-type", kind), (b"content-length", str(len(raw)).encode())]
    if not await _drain(scope, receive, read):
        headers.append((b"connection", b"close"))
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": raw})


async def _drain(scope: Scope, receive: Receive, read: int) -> bool:
    """Read and discard the rest of the body; False when it is (or is declared) too large."""
    declared = dict(scope["headers"]).get(b"content-length", b"0")
    if declared.isdigit() and int(declared) > DRAIN_LIMIT:
        return False
    while read <= DRAIN_LIMIT:
        message = await receive()
        if message["type"] == "http.disconnect":
            return True
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
            return message
        return await receive()

    return replayed
