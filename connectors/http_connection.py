"""One HTTP/1.1 client connection as an asyncio protocol, its response parsed by llhttp.

The protocol learns from asyncio, never by polling, that its peer has gone: `eof_received`
or `connection_lost` sets `peer_closed`, and a pool never hands such a connection out
again. Each exchange writes the request in one `write` and waits on a future that the
parser callbacks complete; a timer enforces the read timeout as the longest silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import httptools
import httpx

NO_RESPONSE = "Server disconnected without sending a response."
INCOMPLETE = "peer closed connection without sending complete message body"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """The four httpx timeouts of one request, in seconds (None: wait forever)."""

    connect: float | None
    read: float | None
    write: float | None
    pool: float | None

    @classmethod
    def of(cls, request: httpx.Request) -> Timeouts:
        """The timeouts httpx put in `request.extensions`."""
        given = request.extensions.get("timeout", {})
        return cls(given.get("connect"), given.get("read"), given.get("write"), given.get("pool"))


class Connection(asyncio.Protocol):
    """A keep-alive connection that carries one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, forget: Callable[[Connection], None]):
        self.loop = loop
        self.forget = forget  # tells the pool this connection is gone
        self.transport: asyncio.Transport | None = None
        self.peer_closed = False
        self.keep_alive = True
        self.closed_before_response = False  # the peer closed and no response byte came
        self.exchange_state: Exchange | None = None
        self.drained: asyncio.Future[None] | None = None
        self.paused = False

    @property
    def reusable(self) -> bool:
        """Whether another request may use this connection."""
        return self.keep_alive and not self.peer_closed and self.transport is not None

    async def exchange(self, request: httpx.Request, timeouts: Timeouts) -> httpx.Response:
        """Write `request`, then read its whole response."""
        assert self.exchange_state is None, "one request at a time"
        state = self.exchange_state = Exchange(self, request, timeouts.read)
        try:
            data = await serialise(request)
            if self.peer_closed or self.transport is None:
                # closed since the pool picked it, or since it opened: nothing was sent
                self.closed_before_response = True
                raise httpx.RemoteProtocolError(NO_RESPONSE, request=request)
            self.transport.write(data)
            if self.paused:
                await self._drain(request, timeouts.write)
            state.arm_read_timer()
            return await state.response
        finally:
            state.disarm()
            self.exchange_state = None

    def close(self) -> None:
        """Close the socket (flushing what is buffered); the pool forgets it."""
        self.keep_alive = False
        if self.transport is not None:
            self.transport.close()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's is not a subclass of asyncio.Transport)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        state = self.exchange_state
        if state is None or state.response.done():
            self.keep_alive = False  # bytes nobody asked for: the stream is out of step
            return
        state.feed(data)

    def eof_received(self) -> bool | None:
        self._peer_gone(None)
        return None  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._peer_gone(exc)
        self.transport = None
        self.forget(self)
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def _peer_gone(self, exc: Exception | None) -> None:
        if self.keep_alive and not self.peer_closed and self.exchange_state is not None:
            self.closed_before_response = not self.exchange_state.started
        self.peer_closed = True
        if self.exchange_state is not None:
            self.exchange_state.peer_closed(exc)

    async def _drain(self, request: httpx.Request, timeout: float | None) -> None:
        self.drained = self.loop.create_future()
        try:
            async with asyncio.timeout(timeout):
                await self.drained
        except TimeoutError as exc:
            raise httpx.WriteTimeout("sending the request timed out", request=request) from exc
        finally:
            self.drained = None
        # a connection lost meanwhile has already settled the exchange (`_peer_gone`)


class Exchange:
    """The response to one request, built by llhttp's callbacks as bytes arrive."""

    def __init__(self, connection: Connection, request: httpx.Request, read_timeout: float | None):
        self.connection = connection
        self.request = request
        self.read_timeout = read_timeout
        self.response: asyncio.Future[httpx.Response] = connection.loop.create_future()
        self.parser = httptools.HttpResponseParser(self)
        self.head_only = request.method == "HEAD"
        self.started = False
        self.headers_done = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.last_read = connection.loop.time()
        self.timer: asyncio.TimerHandle | None = None

    def feed(self, data: bytes) -> None:
        """Parse bytes from the socket."""
        self.started = True
        self.last_read = self.connection.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(httpx.RemoteProtocolError(f"malformed response: {exc}", request=self.request))

    def peer_closed(self, exc: Exception | None) -> None:
        """The socket hit EOF or broke: finish a close-delimited body or fail."""
        if self.response.done():
            return
        if exc is not None:
            self.fail(httpx.ReadError(f"{type(exc).__name__}: {exc}", request=self.request))
        elif self.headers_done and self._delimited_by_close():
            self.on_message_complete()
        else:
            message = INCOMPLETE if self.started else NO_RESPONSE
            self.fail(httpx.RemoteProtocolError(message, request=self.request))

    def fail(self, exc: httpx.TransportError) -> None:
        """End the exchange with `exc`; the connection will not be reused."""
        self.connection.keep_alive = False
        if not self.response.done():
            self.response.set_exception(exc)

    def arm_read_timer(self) -> None:
        """Fail with ReadTimeout once no byte has arrived for the read timeout."""
        self.last_read = self.connection.loop.time()
        if self.read_timeout is not None and not self.response.done():
            self.timer = self.connection.loop.call_later(self.read_timeout, self._check_silence)

    def disarm(self) -> None:
        """Cancel the read timer."""
        if self.timer is not None:
            self.timer.cancel()

    def _check_silence(self) -> None:
        assert self.read_timeout is not None
        silent = self.connection.loop.time() - self.last_read
        if silent < self.read_timeout:  # bytes came meanwhile: wait for the rest of the span
            self.timer = self.connection.loop.call_later(
                self.read_timeout - silent, self._check_silence
            )
        else:
            self.fail(httpx.ReadTimeout("reading the response timed out", request=self.request))

    def _delimited_by_close(self) -> bool:
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    # llhttp callbacks

    def on_message_begin(self) -> None:
        self.headers, self.body, self.headers_done = [], [], False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        if self.head_only:
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            return  # an interim response (100 Continue): the real one follows
        if self.response.done():
            return
        if not self.parser.should_keep_alive():
            self.connection.keep_alive = False
        version = self.parser.get_http_version()
        self.response.set_result(
            httpx.Response(
                status,
                headers=self.headers,
                stream=httpx.ByteStream(b"".join(self.body)),
                extensions={"http_version": b"HTTP/" + version.encode()},
            )
        )


async def serialise(request: httpx.Request) -> bytes:
    """The request line, headers and body as one buffer."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    lines.extend(name + b": " + value for name, value in request.headers.raw)
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = await request.aread()  # a streamed body, read into memory
        if request.headers.get("transfer-encoding", "").lower() == "chunked":
            return head + (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    return head + body if body else head
