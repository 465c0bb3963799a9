"""Hostile or broken SOAP gets a Fault with a clear faultstring and changes nothing. Being
refused before its signature is checked, it is unauthenticated: counted and summarised in one
`refusals_summarised` entry per interval, never audited one by one."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from connectors.soap import xml as soap_xml
from gateway.bootstrap import open_sql_store
from gateway.crypto.signing import MessageSigner, generate_ed25519_key, parse_signing_key
from gateway.store.schema import audit_log, inbound_messages, work_orders
from tests.conftest import Stack
from tests.integration.api.helpers import wait_until

NS = "urn:lianxin:hotline:police110:1"
ENVELOPE = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:h="' + NS + '"><soap:Body>{body}</soap:Body></soap:Envelope>'
)
TRANSFER = {
    "JJDBH": "J1",
    "BJDZ": "天河区",
    "BJNR": "施工噪声",
    "BJSJ": "2026-11-24T10:00:00+08:00",
    "JQLBDM": "9102",
    "JQLBMC": "施工噪声",
    "GXDWDM": "440106",
    "GXDWMC": "天河分局",
    "SFBM": "0",
    "XZQHDM": "440106",
}
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    + ENVELOPE.format(body="<h:Confirm><h:FLOWID>&lol3;</h:FLOWID></h:Confirm>")
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + ENVELOPE.format(body="<h:Confirm><h:FLOWID>&x;</h:FLOWID></h:Confirm>")
)


def signed(
    stack: Stack, payload: dict[str, str], operation: str = "TransferIn", key: str | None = None
) -> bytes:
    envelope = soap_xml.envelope(soap_xml.element(NS, operation, payload))
    signer = MessageSigner([parse_signing_key(key or stack.agency_keys["police-110"])])
    soap_xml.add_signature(envelope, signer.headers("m-1", soap_xml.canonical_body(envelope)))
    return soap_xml.serialise(envelope)


def rows(stack: Stack) -> tuple[int, ...]:
    store = open_sql_store(stack.settings.database_url)
    try:

        def counts(uow: object) -> tuple[int, ...]:
            conn = uow.orders.conn  # type: ignore[attr-defined]
            return tuple(
                conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (work_orders, audit_log, inbound_messages)
            )

        return store.run_sync(counts)
    finally:
        store.engine.dispose()


def last_audit_entry(stack: Stack) -> tuple[str, str, str]:
    store = open_sql_store(stack.settings.database_url)
    try:

        def last(uow: object) -> tuple[str, str, str]:
            conn = uow.orders.conn  # type: ignore[attr-defined]
            query = select(audit_log.c.event, audit_log.c.party, audit_log.c.detail)
            row = conn.execute(query.order_by(audit_log.c.seq.desc()).limit(1)).one()
            return row.event, row.party, row.detail

        return store.run_sync(last)
    finally:
        store.engine.dispose()


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(refusal_summary_interval=0.5)


CASES = {
    "malformed": (b"<soap:Envelope><soap:Body>", "not well-formed"),
    "billion-laughs": (BILLION_LAUGHS.encode(), "DTDs and entity declarations are not accepted"),
    "xxe": (XXE.encode(), "DTDs and entity declarations are not accepted"),
    "not-soap": (b"<order><id>1</id></order>", "not a SOAP 1.1 Envelope"),
    "unknown-operation": (ENVELOPE.format(body="<h:Drop/>").encode(), "unknown operation 'Drop'"),
    "schema-violation": (
        ENVELOPE.format(body="<h:Confirm><h:FLOWID>x</h:FLOWID></h:Confirm>").encode(),
        "does not match the schema",
    ),
    "oversized": (
        ENVELOPE.format(
            body="<h:Confirm><h:FLOWID>" + "x" * 300_000 + "</h:FLOWID></h:Confirm>"
        ).encode(),
        "exceeds the limit",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_or_broken_xml_gets_a_client_fault_is_summarised_and_stores_nothing_else(
    stack: Stack,
    case: str,
) -> None:
    body, reason = CASES[case]
    orders, entries, inbound = rows(stack)
    response = httpx.post(
        f"{stack.url}/soap/police-110", content=body, headers={"content-type": "text/xml"}
    )
    assert 400 <= response.status_code < 500
    assert "<faultcode>soap:Client</faultcode>" in response.text
    assert reason in response.text
    wait_until(lambda: rows(stack)[1] == entries + 1, what="the refusal summary")
    assert rows(stack) == (orders, entries + 1, inbound)
    event, party, detail = last_audit_entry(stack)
    assert (event, party) == ("refusals_summarised", "police-110")
    assert json.loads(detail)["count"] == 1


def test_a_forged_signature_is_a_fault_and_applies_nothing(stack: Stack) -> None:
    body = signed(stack, TRANSFER, key=generate_ed25519_key())
    response = httpx.post(f"{stack.url}/soap/police-110", content=body)
    assert response.status_code == 401 and "invalid_signature" in response.text
    orders, _audit, seen = rows(stack)
    assert (orders, seen) == (0, 0)


def test_an_unsigned_call_is_a_fault(stack: Stack) -> None:
    body = soap_xml.serialise(soap_xml.envelope(soap_xml.element(NS, "TransferIn", TRANSFER)))
    response = httpx.post(f"{stack.url}/soap/police-110", content=body)
    assert response.status_code == 401 and "missing header webhook-id" in response.text


def test_a_well_signed_call_is_applied(stack: Stack) -> None:
    response = httpx.post(f"{stack.url}/soap/police-110", content=signed(stack, TRANSFER))
    assert response.status_code == 200, response.text
    assert "<tns:Code>0</tns:Code>" in response.text and rows(stack)[0] == 1
