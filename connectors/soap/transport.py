"""zeep's transport on the one outbound client: SOAP calls go out like REST deliveries.

zeep ships a requests transport and an httpx one; this one sends the operations through
`connectors.http.client` (the agency's mutual TLS, proxy, idle expiry, size cap and total
deadline) and hands zeep the answer in the `requests.Response` shape it parses. The WSDL
is a local file (`[soap] wsdl`), read from disk: nothing is fetched when zeep starts. An
HTTP error answer that is not a SOAP fault (anything but 200 and 500) is mapped by
`connectors.http.errors`, so a 429/503's Retry-After reaches the retry policy.
"""

from __future__ import annotations

import logging
from typing import Any

from requests import Response
from requests.structures import CaseInsensitiveDict
from zeep.transports import AsyncTransport
from zeep.wsdl.utils import etree_to_string

from connectors.http.client import Answer, Exchange
from connectors.http.errors import answer_error
from gateway.domain.errors import ConfigError

SOAP_ANSWERS = frozenset({200, 202, 500})  # 500 carries a SOAP fault for zeep to read


class OutboundTransport(AsyncTransport):
    """zeep's async transport over an `Exchange`, each call bounded by `timeout` seconds."""

    def __init__(self, exchange: Exchange, timeout: float) -> None:
        # AsyncTransport.__init__ would open httpx clients of its own: not called
        self._close_session = False
        self.cache = None
        self.load_timeout = self.operation_timeout = timeout
        self.exchange = exchange
        self.logger = logging.getLogger(__name__)

    def _load_remote_data(self, url: str) -> bytes:
        raise ConfigError(f"the WSDL must be a local file, not {url}")

    async def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> Answer:
        """POST one envelope; an HTTP error that is no SOAP answer raises a delivery error."""
        body = message.encode() if isinstance(message, str) else message
        answer = await self.exchange.send("POST", address, body, headers, self.operation_timeout)
        if answer.status not in SOAP_ANSWERS:
            error = answer_error(answer.status, answer.headers, answer.text)
            if error is not None:
                raise error
        return answer

    async def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> Response:
        """POST the envelope; the answer as zeep reads it."""
        return self.new_response(await self.post(address, etree_to_string(envelope), headers))

    async def get(self, address: str, params: Any, headers: dict[str, str]) -> Response:
        """zeep GETs only for HTTP bindings, which Lianxin's agencies do not use."""
        raise ConfigError(f"SOAP over HTTP GET is not supported ({address})")

    def new_response(self, answer: Answer) -> Response:
        """`answer` as the `requests.Response` zeep parses."""
        response = Response()
        response._content = answer.content
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response.encoding = "utf-8"
        return response

    async def aclose(self) -> None:
        """Close the outbound client."""
        await self.exchange.aclose()
