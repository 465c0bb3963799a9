"""HTTP peers on loopback for the transport tests: a uvicorn app and raw asyncio servers.

The uvicorn app records which client ports it served (one port, one TCP connection) and
how many requests it handled at once; its behaviour is picked by the request path. The raw
servers misbehave in ways uvicorn never does (close-delimited bodies, closing a kept-alive
connection just as a request arrives).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from bench.sink import read_body

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Peer:
    """A raw ASGI app: /echo, /slow/<seconds>, /status/<code>, /chunked, /break, /close."""

    def __init__(self) -> None:
        self.client_ports: set[int] = set()
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        self.client_ports.add(scope["client"][1])
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self._answer(scope["path"].strip("/").split("/"), await read_body(receive), send)
        finally:
            self.in_flight -= 1

    async def _answer(self, path: list[str], body: bytes, send: Send) -> None:
        match path:
            case ["slow", seconds]:
                await asyncio.sleep(float(seconds))
                await _respond(send, 200, b"late")
            case ["status", code]:
                await _respond(send, int(code), "维护中".encode())
            case ["chunked"]:
                await send({"type": "http.response.start", "status": 200, "headers": []})
                for piece in (b"one,", b"two,", b"three"):
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            case ["break"]:
                headers = [(b"content-length", b"100")]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": b"x" * 10, "more_body": True})
                raise RuntimeError("the peer dies mid-response")
            case ["close"]:
                await _respond(send, 200, b"bye", [(b"connection", b"close")])
            case _:
                await _respond(send, 200, body)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    length = [(b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": length + (headers or [])}
    )
    await send({"type": "http.response.body", "body": body})


class RawPeer:
    """An asyncio server whose connections run `script(reader, writer)`; counts both."""

    def __init__(
        self, script: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ):
        self.script = script
        self.connections = 0
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(reader, writer)
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> None:
        """Read one request head and its content-length body."""
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                await reader.readexactly(int(value))


class ForwardProxy:
    """A tiny HTTP proxy on loopback: CONNECT tunnels and absolute-form forwarding.

    `seen` holds each request line it was asked (`CONNECT host:port …`, `POST http://…`)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line, _, rest = head.partition(b"\r\n")
        self.seen.append(line.decode())
        method, target, version = line.decode().split(" ")
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            url = urlsplit(target)
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
            path = url.path + (f"?{url.query}" if url.query else "")
            up_writer.write(f"{method} {path} {version}\r\n".encode() + rest)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65_536):
        writer.write(data)
        await writer.drain()
    writer.close()
