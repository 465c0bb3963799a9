"""What the simulated SOAP agencies share: reading a signed call, and answering one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from connectors.soap import xml as soap_xml
from gateway.crypto.signing import MessageVerifier

XML = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Call:
    """A call that parsed, fits the schema and carries a valid signature."""

    operation: str
    fields: dict[str, str]
    msg_id: str
    signature: str  # the webhook-signature as received


def read_call(raw: bytes, schema: Any, verifier: MessageVerifier) -> Call:
    """Parse safely, validate against `schema`, verify the signature header."""
    envelope = soap_xml.parse_envelope(raw, 262_144)
    payload = soap_xml.payload_of(envelope)
    soap_xml.validate(schema, payload)
    verified = verifier.verify(soap_xml.signature_of(envelope), soap_xml.canonical_body(envelope))
    name, fields = soap_xml.local_name(payload), soap_xml.fields_of(payload)
    return Call(name, fields, verified.msg_id, verified.signature)


def result(namespace: str, operation: str, values: dict[str, Any]) -> Response:
    """`<{operation}Response><Result>…</Result></…>` in a SOAP envelope."""
    wrapper = soap_xml.element(namespace, f"{operation}Response", {})
    wrapper.append(soap_xml.element(namespace, "Result", values))
    return Response(soap_xml.serialise(soap_xml.envelope(wrapper)), media_type=XML)


def refusal(message: str, status: int = 400) -> Response:
    """A soap:Client fault."""
    return Response(soap_xml.fault("Client", message), status, media_type=XML)
