"""REST connector: a signed JSON POST per handoff.

Protocol: HTTP/1.1 POST of the handoff body over the outbound client
(`connectors.http.client`: mutual TLS, proxy, idle expiry, size cap, total deadline per
delivery), Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
`webhook-signature`). Direction: outbound (agency updates come back to
`POST /v1/inbound/{agency}`). Guarantee: at-least-once; the receiver de-duplicates by
`webhook-id`. Authentication: the signature (Ed25519 `v1a` or HMAC `v1`), and our client
certificate where the agency demands mutual TLS. Transient: connection errors, timeouts,
oversized answers, 5xx, 408, 409, 425, 429; throttled only on 429 or 503 with
Retry-After. Permanent: every other 4xx; 410 disables the endpoint.
"""

from __future__ import annotations

import hashlib
import json

from connectors.http.client import Answer, Exchange, open_client
from connectors.http.errors import checked
from gateway.domain.messages import Delivery, Receipt
from gateway.mapping.profiles import AgencyProfile
from gateway.settings import Settings

BASE_HEADERS = {"content-type": "application/json", "user-agent": "Lianxin"}


class RestConnector:
    """POSTs each delivery to the agency's endpoint over its own outbound client."""

    def __init__(self, profile: AgencyProfile, exchange: Exchange | None = None) -> None:
        self.exchange = exchange or open_client(profile.http, profile.concurrency)

    async def deliver(self, delivery: Delivery) -> Receipt:
        """POST the body; a 2xx is the receipt, anything else a typed delivery error."""
        headers = {**BASE_HEADERS, **delivery.headers}
        answer = checked(
            await self.exchange.send(
                "POST", delivery.endpoint, delivery.body, headers, delivery.timeout
            )
        )
        digest = hashlib.sha256(answer.content).hexdigest()
        return Receipt(answer.status, digest, agency_ref=_agency_ref(answer))

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.exchange.aclose()


def _agency_ref(answer: Answer) -> str | None:
    try:
        body = json.loads(answer.content or b"null")
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("id"), str | int):
        return str(body["id"])[:64]
    return None


def build(profile: AgencyProfile, settings: Settings | None = None) -> RestConnector:
    """A REST connector for `profile`."""
    return RestConnector(profile)
