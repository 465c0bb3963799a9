"""Request limits as plain ASGI middleware: oversized headers get 431 and oversized bodies
413, before any parsing (the HTTP server's own header limit depends on its parser)."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.soap_xml import fault
from gateway.api.errors import error_body


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
            await self._refuse(scope, send, 431, "headers_too_large", text)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, send)
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
                await self._too_large(scope, send)
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        message = f"request body exceeds {self.max_bytes} bytes"
        await self._refuse(scope, send, 413, "payload_too_large", message)

    async def _refuse(self, scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        if str(scope.get("path", "")).startswith("/soap/"):
            raw, kind = fault("Client", f"{code}: {message}"), b"text/xml; charset=utf-8"
        else:
            raw, kind = json.dumps(error_body(code, message)).encode(), b"application/json"
        headers = [(b"content-type", kind), (b"content-length", str(len(raw)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


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
