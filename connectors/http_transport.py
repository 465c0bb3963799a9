"""An HTTP/1.1 transport for httpx on asyncio protocols: keep-alive pools that never poll.

Why: httpcore's pool asks every idle connection whether its socket is readable (a poll
syscall through anyio) each time it assigns a request, and anyio's stream layer adds its
own cost per send; in the gateway that was a third of all CPU. asyncio already tells a
protocol when its peer closes (`eof_received`, `connection_lost`), so this transport keeps
that as a flag and never polls. The response is parsed by llhttp (`httptools`, in C).

Protocol: HTTP/1.1 with keep-alive, `http` and `https` (certificate checked against the
host name). At most `max_connections` connections per origin; further requests wait for
one, bounded by the pool timeout. Request bodies are sent from memory (streamed bodies are
read first and sent as one chunk); responses are read fully (content-length, chunked or
close-delimited) before `handle_async_request` returns. No HTTP/2, no proxies.

Errors: httpx's own types (`ConnectError`, `ConnectTimeout`, `ReadTimeout`,
`WriteTimeout`, `PoolTimeout`, `ReadError`, `RemoteProtocolError`), so
callers that map `httpx.HTTPError` keep working unchanged.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx

from connectors.http_connection import Connection, Timeouts

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


class Http11Transport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connection pools, one per origin, each of at most `max_connections`."""

    def __init__(self, max_connections: int = 10, ssl_context: ssl.SSLContext | None = None):
        self.max_connections = max_connections
        self._ssl_context = ssl_context
        self._pools: dict[Origin, OriginPool] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` on a pooled connection and return the response, fully read."""
        timeouts = Timeouts.of(request)
        pool = self._pool_for(request)
        async with pool.slot(timeouts, request):
            return await pool.exchange(request, timeouts)

    async def aclose(self) -> None:
        """Close every connection of every origin."""
        for pool in self._pools.values():
            pool.close_all()
        self._pools.clear()

    def _pool_for(self, request: httpx.Request) -> OriginPool:
        url = request.url
        scheme = url.scheme
        if scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        origin = (scheme, url.host, url.port or DEFAULT_PORTS[scheme])
        pool = self._pools.get(origin)
        if pool is None:
            tls = self._tls_context() if scheme == "https" else None
            pool = self._pools[origin] = OriginPool(origin, self.max_connections, tls)
        return pool

    def _tls_context(self) -> ssl.SSLContext:
        # built on first https use: loading certifi's bundle costs milliseconds
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
            self._ssl_context.set_alpn_protocols(["http/1.1"])
        return self._ssl_context


class OriginPool:
    """The connections to one origin: a semaphore of `size` slots and the idle connections.

    A connection is either held by the request that owns a slot or idle, and a new one is
    opened only when no idle one is left, so there are never more than `size`.
    """

    def __init__(self, origin: Origin, size: int, tls: ssl.SSLContext | None):
        self.scheme, self.host, self.port = origin
        self.tls = tls
        self.slots = asyncio.Semaphore(size)
        self.idle: list[Connection] = []
        self.open: set[Connection] = set()

    def slot(self, timeouts: Timeouts, request: httpx.Request) -> _Slot:
        """An async context holding one of the pool's slots."""
        return _Slot(self.slots, timeouts.pool, request)

    async def exchange(self, request: httpx.Request, timeouts: Timeouts) -> httpx.Response:
        """One request and its response, on an idle connection or a new one."""
        connection = self._idle_connection()
        if connection is None:
            return await self._exchange_fresh(request, timeouts)
        try:
            return await self._exchange_on(connection, request, timeouts)
        except httpx.TransportError:
            if not connection.closed_before_response:
                raise
        # The peer closed this kept-alive connection while it sat idle, and no byte of a
        # response came back. Sending the request again, once, on a fresh connection is
        # safe: every delivery carries a `webhook-id` the receiver de-duplicates on. A
        # failure on a fresh connection is never retried here.
        return await self._exchange_fresh(request, timeouts)

    def close_all(self) -> None:
        """Close every connection, idle or busy."""
        for connection in list(self.open):
            connection.close()
        self.idle.clear()

    async def _exchange_fresh(self, request: httpx.Request, timeouts: Timeouts) -> httpx.Response:
        connection = await self._connect(request, timeouts)
        return await self._exchange_on(connection, request, timeouts)

    async def _exchange_on(
        self, connection: Connection, request: httpx.Request, timeouts: Timeouts
    ) -> httpx.Response:
        try:
            response = await connection.exchange(request, timeouts)
        except BaseException:
            connection.close()
            raise
        if connection.reusable:
            self.idle.append(connection)
        else:
            connection.close()
        return response

    def _idle_connection(self) -> Connection | None:
        while self.idle:
            connection = self.idle.pop()  # the most recently used: least likely to be timed out
            if connection.reusable:
                return connection
            connection.close()
        return None

    async def _connect(self, request: httpx.Request, timeouts: Timeouts) -> Connection:
        loop = asyncio.get_running_loop()
        hostname = self.host if self.tls is not None else None
        try:
            async with asyncio.timeout(timeouts.connect):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop, self.open.discard),
                    self.host,
                    self.port,
                    ssl=self.tls,
                    server_hostname=hostname,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"connect to {self.host}:{self.port} timed out", request=request
            ) from exc
        except OSError as exc:  # refused, unreachable, DNS, TLS verification (ssl.SSLError)
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from exc
        self.open.add(connection)
        return connection


class _Slot:
    """Holds one pool slot; waiting for it is bounded by the pool timeout."""

    def __init__(self, slots: asyncio.Semaphore, timeout: float | None, request: httpx.Request):
        self.slots, self.timeout, self.request = slots, timeout, request

    async def __aenter__(self) -> None:
        if not self.slots.locked():
            await self.slots.acquire()  # a free slot: no timer to arm
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self.slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free connection in time", request=self.request) from exc

    async def __aexit__(self, *exc: Any) -> None:
        self.slots.release()
