"""An Exchange over an httpx transport, so unit tests can answer with respx or MockTransport."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from connectors.http import errors
from connectors.http.client import Answer


class TransportExchange:
    """Sends each call through `transport` (e.g. `httpx.MockTransport(handler)`)."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport

    async def send(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        """The transport's answer; its timeouts and failures as the real client's errors."""
        request = httpx.Request(method, url, content=body, headers=dict(headers))
        try:
            response = await self.transport.handle_async_request(request)
            content = await response.aread()
        except httpx.TimeoutException as exc:
            raise errors.timed_out(timeout) from exc
        except httpx.HTTPError as exc:
            raise errors.exchange_failed(exc) from exc
        return Answer(response.status_code, response.headers, content)

    async def aclose(self) -> None:
        """Close the transport."""
        await self.transport.aclose()
