"""The agency a client certificate is bound to: exactly one `urn:lianxin:agency:` SAN URI."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.crypto.certs import AGENCY_URN, agency_of, new_authority

CA = new_authority()


def with_uris(*uris: str) -> x509.Certificate:
    names = [x509.UniformResourceIdentifier(uri) for uri in uris]
    return CA.issue("someone", names, ExtendedKeyUsageOID.CLIENT_AUTH)[0]


def test_a_client_certificate_is_bound_to_its_agency() -> None:
    assert agency_of(CA.client("tax-12366")[0]) == "tax-12366"


def test_a_common_name_alone_binds_to_no_agency() -> None:
    assert agency_of(with_uris("https://tax-12366.example")) is None


def test_a_certificate_naming_two_agencies_binds_to_none() -> None:
    assert agency_of(with_uris(f"{AGENCY_URN}tax-12366", f"{AGENCY_URN}police-110")) is None


def test_a_server_certificate_binds_to_no_agency() -> None:
    assert agency_of(CA.server(["gw.example"])[0]) is None
