"""The one outbound HTTP client (aiohttp) for REST, SOAP and portals, set up per agency.

Protocol: HTTP/1.1 keep-alive, `http` and `https`. Per agency (`[http]` in its profile):
a CA bundle and a client certificate for mutual TLS, a proxy (else HTTPS_PROXY,
HTTP_PROXY and NO_PROXY are honoured), a connect timeout, idle-connection expiry (a
kept-alive connection idle longer is closed, not reused: firewalls and NAT drop idle
connections silently), a response size cap, and at most `max_connections` connections.
The proxy variables are read once per origin a client meets, not on every request.
Each call has a total deadline (connect, send and the whole answer), so a slowly dripping
answer is cut at the deadline like a silent one. Errors: typed delivery errors from
`connectors.http.errors`; a 4xx/5xx answer is returned, not raised (the caller maps it).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from urllib.request import getproxies, proxy_bypass

import aiohttp
from yarl import URL

from connectors.http import errors
from gateway.mapping.profiles import HttpPolicy

CHUNK = 65_536


@dataclass(frozen=True)
class Answer:
    """An agency's HTTP answer, read whole (within the size cap)."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.content.decode("utf-8", "replace")


class Exchange(Protocol):
    """Sends one request and returns its answer; what connectors are built on."""

    async def send(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Answer: ...

    async def aclose(self) -> None: ...


class OutboundClient:
    """One agency's connection pool and TLS/proxy set-up (the session opens on first use)."""

    def __init__(self, policy: HttpPolicy, max_connections: int) -> None:
        self.policy = policy
        self.limit = policy.max_connections or max_connections
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    async def send(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        """`method url` with `body`; the answer within `timeout` seconds in all.

        A request the agency's side closed the connection under, before any byte of an
        answer (a kept-alive connection it expired just as we sent), is sent once more on
        a new connection: safe, since every delivery carries an id the agency de-duplicates
        on. aiohttp does this itself only for idempotent methods."""
        started = time.monotonic()
        try:
            return await self._send(method, url, body, headers, timeout)
        except errors.Unanswered:
            left = timeout - (time.monotonic() - started)  # the deadline covers both sends
            if left <= 0:
                raise errors.timed_out(timeout) from None
            return await self._send(method, url, body, headers, left)

    async def _send(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        target = _url(url)
        try:
            async with self._open().request(
                method,
                target,
                data=body,
                headers=headers,
                timeout=_limits(timeout, self.policy.connect_timeout),
                proxy=self._proxy_for(target),
            ) as response:
                content = await self._read(response)
                return Answer(response.status, response.headers, content)
        except aiohttp.ConnectionTimeoutError as exc:
            raise errors.timed_out(self.policy.connect_timeout, "no connection") from exc
        except TimeoutError as exc:
            raise errors.timed_out(timeout) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise errors.Unanswered(f"the connection closed before an answer: {exc}") from exc
        except (aiohttp.ClientError, ssl.SSLError, OSError) as exc:
            raise errors.exchange_failed(exc) from exc

    async def aclose(self) -> None:
        """Close every connection."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.limit,
                limit_per_host=self.limit,
                keepalive_timeout=self.policy.idle_seconds,
                ssl=tls_context(self.policy),
            )
            # trust_env=False: aiohttp would read the proxy variables and ~/.netrc (in a
            # thread) on every request; the variables are read once per origin instead
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, skip_auto_headers=("User-Agent",)
            )
        return self._session

    def _proxy_for(self, url: URL) -> str | None:
        """The agency's proxy, else the one HTTPS_PROXY/HTTP_PROXY/NO_PROXY name for it."""
        if self.policy.proxy is not None:
            return self.policy.proxy
        origin = (url.scheme, url.host or "")
        if origin not in self._proxies:
            self._proxies[origin] = env_proxy(*origin)
        return self._proxies[origin]

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        cap = self.policy.max_response_bytes
        length = response.content_length
        if length is not None:
            if length > cap:
                raise errors.too_large(cap)
            return await response.read()
        chunks, size = list[bytes](), 0
        async for chunk in response.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > cap:
                raise errors.too_large(cap)
            chunks.append(chunk)
        return b"".join(chunks)


def env_proxy(scheme: str, host: str) -> str | None:
    """The proxy the standard variables name for `scheme://host`; None to go direct."""
    if not host or proxy_bypass(host):
        return None
    return getproxies().get(scheme)


@lru_cache(maxsize=1024)
def _url(url: str) -> URL:
    """An endpoint parsed once, kept as given: a signed path must not be re-quoted."""
    return URL(url, encoded=True)


@lru_cache(maxsize=64)
def _limits(total: float, connect: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=total, sock_connect=connect)


def tls_context(policy: HttpPolicy) -> ssl.SSLContext | bool:
    """The agency's TLS context: its CA and our client certificate; True for the defaults."""
    tls = policy.tls
    if tls is None:
        return True
    context = ssl.create_default_context(cafile=tls.ca)
    if tls.cert is not None:
        context.load_cert_chain(tls.cert, tls.key)
    return context


def open_client(policy: HttpPolicy, max_connections: int) -> OutboundClient:
    """The client for one agency."""
    return OutboundClient(policy, max_connections)
