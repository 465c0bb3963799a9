"""Request limits as plain ASGI middleware: oversized headers get 431 and oversized bodies
413, before any parsing (the HTTP server's own header limit depends on its parser).

Many clients (urllib, most SOAP stacks) send the whole body before they read an answer. A
server that answers early and closes with their data unread makes the kernel reset the
connection, and the client never sees the 413 (RFC 9112 §9.6). So every refusal here reads
and discards what is left of the body, up to `DRAIN_LIMIT` bytes, before it answers; a
body declared larger than that is answered at once with `Connection: close`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.soap.xml import fault
from gateway.api.errors import error_body
from gateway.service.json_codec import compact_json

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
        header_bytes, declared = _measure(scope["headers"])
        if header_bytes > self.max_header_bytes:
            text = f"request headers exceed {self.max_header_bytes} bytes"
            await refuse(scope, receive, send, 431, "headers_too_large", text)
            return
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body = message.get("body", b"")
        if message.get("more_body", False):  # in pieces: gather them, up to the limit
            pieces, size = [body], len(body)
            while message.get("more_body", False) and size <= self.max_bytes:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                pieces.append(message.get("body", b""))
                size += len(pieces[-1])
            body = b"".join(pieces)
        if len(body) > self.max_bytes:
            await self._too_large(scope, receive, send, len(body))
            return
        await self.app(scope, _replay(body, receive), send)

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
        raw, kind = json_body or compact_json(error_body(code, message)), b"application/json"
    headers = [(b"content-type", kind), (b"content-length", str(len(raw)).encode())]
    if not await _drain(scope, receive, read):
        headers.append((b"connection", b"close"))
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": raw})


def _measure(headers: Iterable[tuple[bytes, bytes]]) -> tuple[int, bytes | None]:
    """The size of the request's headers, and its Content-Length (the last one), in one pass."""
    size, declared = 0, None
    for name, value in headers:
        size += len(name) + len(value)
        if len(name) == 14 and name.lower() == b"content-length":
            declared = value
    return size, declared


async def _drain(scope: Scope, receive: Receive, read: int) -> bool:
    """Read and discard the rest of the body; False when it is (or is declared) too large."""
    declared = _measure(scope["headers"])[1] or b"0"
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
