"""SOAP 1.1 envelopes, parsed safely, with Lianxin's signature header.

Hostile XML is refused before anything else happens: no DTD (so no entity expansion,
no billion laughs), no external references, no network, a size limit. Signatures are the
Standard Webhooks fields in a SOAP header, over the exclusive canonical form (exc-c14n)
of the Body, so any receiver that can canonicalise XML can verify them with the same
code it uses for REST and MQTT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from gateway.domain.errors import MalformedMessage

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SIGNATURE_NS = "urn:lianxin:signature:1"
SIGNATURE_FIELDS = ("webhook-id", "webhook-timestamp", "webhook-signature")
XSD_NS = "http://www.w3.org/2001/XMLSchema"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_envelope(raw: bytes, max_bytes: int) -> Any:
    """The envelope element, or MalformedMessage for anything oversized, hostile or not SOAP."""
    if len(raw) > max_bytes:
        raise MalformedMessage(f"message of {len(raw)} bytes exceeds the limit of {max_bytes}")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise MalformedMessage("DTDs and entity declarations are not accepted")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedMessage(f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise MalformedMessage("DTDs are not accepted")
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise MalformedMessage("not a SOAP 1.1 Envelope")
    return root


def body_of(envelope: Any) -> Any:
    """The Body element."""
    body = envelope.find(f"{{{SOAP_NS}}}Body")
    if body is None:
        raise MalformedMessage("the SOAP Envelope has no Body")
    return body


def payload_of(envelope: Any) -> Any:
    """The one element inside the Body."""
    children = [child for child in body_of(envelope) if isinstance(child.tag, str)]
    if len(children) != 1:
        raise MalformedMessage("the SOAP Body must hold exactly one element")
    return children[0]


def canonical_body(envelope: Any) -> bytes:
    """Exclusive canonical XML of the Body: what the signature covers."""
    return bytes(etree.tostring(body_of(envelope), method="c14n", exclusive=True))


def add_signature(envelope: Any, headers: Mapping[str, str]) -> None:
    """Put the signature fields into a `<lx:Signature>` SOAP header."""
    header = envelope.find(f"{{{SOAP_NS}}}Header")
    if header is None:
        header = etree.Element(f"{{{SOAP_NS}}}Header")
        envelope.insert(0, header)
    element = etree.SubElement(header, f"{{{SIGNATURE_NS}}}Signature", nsmap={"lx": SIGNATURE_NS})
    for name in SIGNATURE_FIELDS:
        element.set(name, headers[name])


def signature_of(envelope: Any) -> dict[str, str]:
    """The signature fields found in the SOAP header (empty when unsigned)."""
    element = envelope.find(f"{{{SOAP_NS}}}Header/{{{SIGNATURE_NS}}}Signature")
    if element is None:
        return {}
    return {name: element.get(name, "") for name in SIGNATURE_FIELDS}


def fields_of(payload: Any) -> dict[str, str]:
    """The payload's child elements as local name → text."""
    return {
        etree.QName(child).localname: (child.text or "")
        for child in payload
        if isinstance(child.tag, str)
    }


def local_name(element: Any) -> str:
    """An element's name without namespace."""
    return str(etree.QName(element).localname)


def schema_of(wsdl: Path) -> Any:
    """The XML Schema embedded in a WSDL's types, to validate payload elements with."""
    tree = etree.parse(str(wsdl), _parser())
    schema = tree.find(f".//{{{XSD_NS}}}schema")
    if schema is None:
        raise ValueError(f"{wsdl}: no xs:schema in wsdl:types")
    # The schema's QName attributes (type="tns:…") use prefixes declared on the WSDL root.
    standalone = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=schema.nsmap)
    standalone.extend(list(schema))
    return etree.XMLSchema(standalone)


def validate(schema: Any, payload: Any) -> None:
    """MalformedMessage naming the first schema violation, if any."""
    if not schema.validate(payload):
        error = schema.error_log.last_error
        raise MalformedMessage(f"does not match the schema: {error.message}")


def envelope(payload: Any, signature: Mapping[str, str] | None = None) -> Any:
    """A new Envelope around `payload`, signed when `signature` is given."""
    root = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soap": SOAP_NS})
    body = etree.SubElement(root, f"{{{SOAP_NS}}}Body")
    body.append(payload)
    if signature:
        add_signature(root, signature)
    return root


def element(namespace: str, name: str, values: Mapping[str, Any]) -> Any:
    """`<name>` in `namespace` with one child element per non-empty value, in order."""
    parent = etree.Element(f"{{{namespace}}}{name}", nsmap={"tns": namespace})
    for key, value in values.items():
        if value is not None and value != "":
            child = etree.SubElement(parent, f"{{{namespace}}}{key}")
            child.text = str(value)
    return parent


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def fault(code: str, message: str) -> bytes:
    """A SOAP 1.1 Fault; `code` is 'Client' (the sender's fault) or 'Server'."""
    root = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soap": SOAP_NS})
    body = etree.SubElement(root, f"{{{SOAP_NS}}}Body")
    node = etree.SubElement(body, f"{{{SOAP_NS}}}Fault")
    etree.SubElement(node, "faultcode").text = f"soap:{code}"
    etree.SubElement(node, "faultstring").text = xml_safe(message)
    return serialise(root)


def xml_safe(text: str) -> str:
    """`text` with what XML 1.0 cannot carry (NUL, control characters, lone surrogates)
    replaced by U+FFFD, e.g. an agency name from a hostile URL echoed in a Fault."""
    return _NOT_XML.sub("\ufffd", text)


def serialise(root: Any) -> bytes:
    """UTF-8 bytes with an XML declaration."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
