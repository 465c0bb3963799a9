"""SOAP connector (zeep): one WSDL operation per handoff, signed in a SOAP header.

Protocol: SOAP 1.1 document/literal over HTTP, the agency's own WSDL (`[soap] wsdl` in its
profile), the endpoint from the profile. Direction: outbound (the agency's answers come
back to the service Lianxin hosts at `/soap/{agency}`). Guarantee: at-least-once; the
receiver de-duplicates by the `webhook-id` in the signature header. Authentication: the
Standard Webhooks fields in `<lx:Signature>` over the exclusive canonical Body, signed here
with `Delivery.sign` (the one signature of the delivery, which its audit entry names with
the Body's digest); our client certificate where the agency demands mutual TLS. HTTP goes
through the one outbound client (`connectors.http.client`, via `connectors.soap.transport`).
Transient: connection errors, timeouts, HTTP 5xx/408/409/425/429 (`connectors.http.errors`),
SOAP `Server` faults, result code 9 (busy).
Permanent: SOAP `Client` faults, other HTTP 4xx, arguments the WSDL refuses, other result
codes. Result code 1 (already received) counts as delivered.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import zeep
from lxml import etree
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError
from zeep.proxy import AsyncServiceProxy

from connectors.http.client import Exchange, open_client
from connectors.http.errors import answer_error
from connectors.soap import xml as soap_xml
from connectors.soap.transport import OutboundTransport
from gateway.domain.errors import PermanentDelivery, TransientDelivery
from gateway.domain.messages import Delivery, Receipt, Sign
from gateway.mapping.payload import render_fields
from gateway.mapping.profiles import AgencyProfile, HttpPolicy
from gateway.settings import Settings

ZEEP_SETTINGS = zeep.Settings(
    strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True, xml_huge_tree=False
)


@dataclass
class _Call:
    """What the signing plugin needs for one call, and what it saw come back."""

    message_id: str
    sign: Sign | None
    trace: dict[str, str] = field(default_factory=dict)  # traceparent, sent as HTTP headers
    response_digest: str | None = None  # SHA-256 of the answer's envelope, once it came


_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("soap_call", default=None)


class SigningPlugin(zeep.Plugin):
    """Signs each outgoing Body and records the digest of each answer."""

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        call = _CALL.get()
        if call is not None and call.sign is not None:
            content = soap_xml.canonical_body(envelope)
            soap_xml.add_signature(envelope, call.sign(call.message_id, content))
        if call is not None:
            http_headers.update(call.trace)
        return envelope, http_headers

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> Any:
        call = _CALL.get()
        if call is not None:
            call.response_digest = hashlib.sha256(etree.tostring(envelope)).hexdigest()
        return envelope, http_headers


class SignedSoapClient:
    """A zeep async client for one WSDL and endpoint whose calls are signed."""

    def __init__(
        self,
        wsdl: str,
        endpoint: str,
        timeout: float,
        concurrency: int = 8,
        exchange: Exchange | None = None,
    ) -> None:
        exchange = exchange or open_client(HttpPolicy(), concurrency)
        self.transport = OutboundTransport(exchange, timeout)
        self.client = zeep.AsyncClient(
            wsdl, transport=self.transport, plugins=[SigningPlugin()], settings=ZEEP_SETTINGS
        )
        # AsyncClient.create_service returns a synchronous proxy; build the async one.
        binding = next(iter(self.client.wsdl.bindings.values()))
        self.service = AsyncServiceProxy(self.client, binding, address=endpoint)

    async def call(
        self,
        operation: str,
        message_id: str,
        sign: Sign | None,
        arguments: dict[str, Any],
        trace: dict[str, str] | None = None,
    ) -> tuple[Any, str | None]:
        """Call `operation` signed as `message_id` (with `trace` headers); the result and
        the SHA-256 of the answer's envelope as it came over the wire."""
        call = _Call(message_id, sign, dict(trace or {}))
        token = _CALL.set(call)
        try:
            result = await getattr(self.service, operation)(**arguments)
        finally:
            _CALL.reset(token)
        return result, call.response_digest

    async def aclose(self) -> None:
        """Close the outbound client."""
        await self.transport.aclose()


class SoapConnector:
    """Delivers transfers and events to one SOAP agency as its WSDL says."""

    signs_what_it_sends = True  # the canonical Body, not the handoff's JSON

    def __init__(self, profile: AgencyProfile, settings: Settings) -> None:
        assert profile.soap is not None, f"agency '{profile.id}' has no [soap] table"
        self.profile = profile
        self.policy = profile.soap
        wsdl = settings.mappings_dir / self.policy.wsdl
        exchange = open_client(profile.http, profile.concurrency)
        self.client = SignedSoapClient(
            str(wsdl), profile.endpoint, profile.timeout, exchange=exchange
        )

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Call the operation this message maps to; a result code 0 or 1 is the receipt."""
        message = json.loads(delivery.body)
        operation, arguments = self._operation_for(message)
        if operation is None:
            digest = hashlib.sha256(b"").hexdigest()
            return Receipt(204, digest, details={"skipped": f"no operation for {message['event']}"})
        try:
            result, response_digest = await self.client.call(
                operation, delivery.handoff_id, delivery.sign, arguments, delivery.trace_headers()
            )
        except Exception as exc:
            raise _delivery_error(exc) from exc
        return _receipt(operation, result, response_digest)

    def _operation_for(self, message: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        if message["type"] == "work_order.transfer":
            return self.policy.transfer_operation, dict(message["work_order"])
        event = self.policy.events.get(message.get("event", ""))
        if event is None:
            return None, {}
        where = f"{self.profile.id}: soap.events.{message['event']}"
        return event.operation, render_fields(
            event.fields, self.profile.code_tables, message, where
        )

    async def aclose(self) -> None:
        """Close the HTTP clients."""
        await self.client.aclose()


def _receipt(operation: str, result: Any, response_digest: str | None) -> Receipt:
    outcome = result if hasattr(result, "Code") else result.Result
    code, text = int(outcome.Code), str(outcome.Message)
    if code == 9:
        raise TransientDelivery(f"{operation}: busy ({text})")
    if code not in (0, 1):
        raise PermanentDelivery(f"{operation}: refused with code {code}: {text}")
    ref = next(
        (
            getattr(outcome, n, None)
            for n in ("JJDBH", "AJBH", "ORDERID")
            if getattr(outcome, n, None)
        ),
        None,
    )
    digest = response_digest or hashlib.sha256(text.encode()).hexdigest()
    return Receipt(200, digest, agency_ref=ref, details={"operation": operation})


def _delivery_error(exc: Exception) -> Exception:
    """Translate zeep errors into delivery errors (the one boundary); HTTP answers and
    failed exchanges arrive typed already (`connectors.http.errors`)."""
    if isinstance(exc, (TransientDelivery, PermanentDelivery)):
        return exc
    if isinstance(exc, Fault):
        sender = "client" in str(exc.code or "").lower()
        kind = PermanentDelivery if sender else TransientDelivery
        return kind(f"SOAP fault {exc.code}: {exc.message}")
    if isinstance(exc, TransportError):  # a 200/500 zeep could not read as SOAP
        status = exc.status_code
        error = answer_error(status, {}, str(exc.message or ""))
        return error or TransientDelivery(f"HTTP {status}: not a SOAP answer")
    if isinstance(exc, (ZeepError, TypeError, ValueError)):
        return PermanentDelivery(f"the message does not fit the WSDL: {exc}")
    return TransientDelivery(f"unexpected {type(exc).__name__}: {exc}")


def build(profile: AgencyProfile, settings: Settings) -> SoapConnector:
    """A SOAP connector for `profile`."""
    return SoapConnector(profile, settings)
