"""The SOAP services Lianxin hosts for agencies (`/soap/{agency}`, WSDL at `?wsdl`).

Protocol: SOAP 1.1 document/literal, one WSDL per agency (`[soap] inbound_wsdl`).
Direction: inbound: new transfers (e.g. 110's 双非 cases) and answers to ours (签收,
退回, 反馈). Guarantee: a message is applied once per `webhook-id`; the answer is sent
only after it is committed. Authentication: the `<lx:Signature>` header over the
exclusive canonical Body, checked against the agency's keys; with mutual TLS, also a
client certificate bound to the agency, checked before the envelope is parsed. Hostile
input (DTDs, entities, oversized or malformed envelopes, payloads the schema refuses)
gets a `soap:Client` fault before anything is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.soap import xml as soap_xml
from gateway.domain.errors import InputError, LianxinError, UnknownAgency
from gateway.mapping.payload import render_fields
from gateway.mapping.profiles import AgencyProfile, SoapInbound
from gateway.service.orders.status_sync import AgencyMessageType, parse_data
from gateway.service.ports.transport import AgencyInbox, Caller


@dataclass(frozen=True)
class Answer:
    """An HTTP status and a SOAP body."""

    status: int
    content: bytes


@dataclass(frozen=True)
class _Service:
    profile: AgencyProfile
    wsdl: Path
    namespace: str
    schema: Any


class SoapEndpoint:
    """Parses, checks and applies the SOAP messages agencies send to Lianxin."""

    def __init__(
        self, profiles: dict[str, AgencyProfile], mappings_dir: Path, sync: AgencyInbox
    ) -> None:
        self.sync = sync
        self.services = {
            name: _service(profile, mappings_dir)
            for name, profile in profiles.items()
            if profile.soap is not None and profile.soap.inbound_wsdl
        }

    def wsdl(self, agency: str, address: str) -> str:
        """The agency's WSDL with its address pointing at this endpoint."""
        service = self._service(agency)
        text = service.wsdl.read_text(encoding="utf-8")
        return re.sub(r'(<soap:address location=")[^"]*(")', rf"\g<1>{address}\g<2>", text)

    async def handle(self, agency: str, raw: bytes, caller: Caller | None = None) -> Answer:
        """Apply one SOAP request; a Fault for anything refused."""
        try:
            await self.sync.admit(agency, caller, raw)
            service = self._service(agency)
            return await self._apply(service, raw)
        except LianxinError as exc:
            code = "Client" if exc.http_status < 500 else "Server"
            return Answer(exc.http_status, soap_xml.fault(code, f"{exc.code}: {exc.message}"))

    async def _apply(self, service: _Service, raw: bytes) -> Answer:
        try:
            envelope, rule, message = _parse(service, raw)
        except LianxinError as exc:  # refused before its signature could be checked
            self.sync.refuse_unauthenticated(service.profile.id, exc, raw)
            raise
        outcome = await self.sync.receive(
            service.profile.id,
            soap_xml.signature_of(envelope),
            soap_xml.canonical_body(envelope),
            parse=lambda _signed: message,
        )
        reply = {"Code": 1 if outcome.result == "duplicate" else 0, "Message": outcome.result}
        if rule.reply_id and outcome.order_id:
            reply["ORDERID"] = outcome.order_id
        result = soap_xml.element(service.namespace, "Result", reply)
        response = soap_xml.element(service.namespace, "Response", {})
        response.append(result)
        return Answer(200, soap_xml.serialise(soap_xml.envelope(response)))

    def _service(self, agency: str) -> _Service:
        try:
            return self.services[agency]
        except KeyError:
            raise UnknownAgency(f"no SOAP service is hosted for '{agency}'") from None


def _parse(service: _Service, raw: bytes) -> tuple[Any, SoapInbound, AgencyMessageType]:
    """The envelope, the operation's rule and the message it carries; typed errors."""
    policy = service.profile.soap
    assert policy is not None
    envelope = soap_xml.parse_envelope(raw, policy.max_message_bytes)
    payload = soap_xml.payload_of(envelope)
    operation = soap_xml.local_name(payload)
    rule = policy.inbound.get(operation)
    if rule is None:
        raise InputError(f"unknown operation '{operation}'")
    soap_xml.validate(service.schema, payload)
    fields = soap_xml.fields_of(payload)
    return envelope, rule, _message(service.profile, operation, rule, fields)


def _message(
    profile: AgencyProfile, operation: str, rule: SoapInbound, fields: dict[str, str]
) -> AgencyMessageType:
    where = f"{profile.id}: soap.inbound.{operation}"
    data = render_fields(rule.fields, profile.code_tables, fields, where)
    if rule.message == "transfer":  # who sent it stays beside the order, not in it
        about: tuple[str, ...] = ("unit", "unit_code", "person")
        sender = {key: data.pop(key) for key in about if key in data}
        return parse_data({"type": "transfer", "work_order": data, **sender})
    fixed = {"status": rule.status} if rule.status else {}
    return parse_data({"type": "status", **fixed, **data})


def _service(profile: AgencyProfile, mappings_dir: Path) -> _Service:
    assert profile.soap is not None and profile.soap.inbound_wsdl
    wsdl = mappings_dir / profile.soap.inbound_wsdl
    text = wsdl.read_text(encoding="utf-8")
    match = re.search(r'targetNamespace="([^"]+)"', text)
    namespace = match.group(1) if match else "urn:lianxin"
    return _Service(profile, wsdl, namespace, soap_xml.schema_of(wsdl))
