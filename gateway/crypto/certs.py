"""Development certificates for mutual TLS, and how a client certificate names its agency.

`init` writes a development CA, the gateway's server certificate, the gateway's own client
certificate for agencies that demand mutual TLS of Lianxin (`outbound.pem`), and one client
certificate per agency profile. The binding between a certificate and an agency is a
SAN URI `urn:lianxin:agency:<id>` (the subject CN repeats the id for humans); `agency_of`
reads it back, and is the only place that does. Production certificates from the
government CA replace these files and must carry the same URI (certs/README.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.domain.errors import ConfigError

AGENCY_URN = "urn:lianxin:agency:"
GATEWAY_URN = "urn:lianxin:gateway"
ORGANISATION = "Lianxin development"
CA_DAYS, LEAF_DAYS = 3650, 825


@dataclass(frozen=True)
class Authority:
    """A CA certificate and its key, able to issue leaves."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def issue(
        self,
        subject: str,
        san: Sequence[x509.GeneralName],
        usage: x509.ObjectIdentifier,
        *,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A leaf certificate for `subject`, signed by this authority, with a new key."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = not_before or _now() - dt.timedelta(minutes=5)
        builder = (
            _builder(_name(subject), self.cert.subject, key, start, not_after or _days(LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        return builder.sign(self.key, hashes.SHA256()), key

    def client(
        self, agency: str, **validity: dt.datetime | None
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A client certificate bound to `agency` (CN and SAN URI)."""
        uri = x509.UniformResourceIdentifier(f"{AGENCY_URN}{agency}")
        return self.issue(agency, [uri], ExtendedKeyUsageOID.CLIENT_AUTH, **validity)

    def outbound(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """The gateway's client certificate, shown to agencies that demand mutual TLS."""
        uri = x509.UniformResourceIdentifier(GATEWAY_URN)
        return self.issue("lianxin-gateway", [uri], ExtendedKeyUsageOID.CLIENT_AUTH)

    def server(self, hosts: Iterable[str]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """The gateway's server certificate for 127.0.0.1, localhost and `hosts`."""
        names = dict.fromkeys(["127.0.0.1", "localhost", *hosts])
        return self.issue(
            "lianxin-gateway", [_general_name(n) for n in names], ExtendedKeyUsageOID.SERVER_AUTH
        )


def new_authority(name: str = "Lianxin development CA") -> Authority:
    """A self-signed CA that may sign leaves only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    cert = (
        _builder(subject, subject, key, _now() - dt.timedelta(minutes=5), _days(CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Authority(cert, key)


@dataclass
class Issued:
    """The files `init` wrote."""

    ca: Path
    server_cert: Path
    server_key: Path
    outbound_cert: Path
    outbound_key: Path
    clients: dict[str, tuple[Path, Path]] = field(default_factory=dict)


def init(directory: Path, agencies: Iterable[str], hosts: Sequence[str] = ()) -> Issued:
    """Write a development CA, a server certificate, the gateway's client certificate
    towards agencies, and one client certificate per agency.

    Refuses to overwrite: a directory that already holds a CA keeps it.
    """
    if (directory / "ca.pem").exists():
        raise ConfigError(f"{directory}/ca.pem exists: certificates are never overwritten")
    (directory / "agencies").mkdir(parents=True, exist_ok=True)
    authority = new_authority()
    write_pair(directory / "ca.pem", directory / "ca.key", authority.cert, authority.key)
    issued = Issued(
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
        directory / "outbound.pem",
        directory / "outbound.key",
    )
    write_pair(issued.server_cert, issued.server_key, *authority.server(hosts))
    write_pair(issued.outbound_cert, issued.outbound_key, *authority.outbound())
    for agency in agencies:
        paths = (directory / "agencies" / f"{agency}.pem", directory / "agencies" / f"{agency}.key")
        write_pair(*paths, *authority.client(agency))
        issued.clients[agency] = paths
    return issued


def write_pair(
    cert_path: Path, key_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    """Write a certificate (0644) and its unencrypted private key (0600, created so)."""
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    raw = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL and the mode at creation: the key is never readable by others, not even briefly
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)


def agency_of(certificate: x509.Certificate) -> str | None:
    """The agency a client certificate is bound to: its one `urn:lianxin:agency:` SAN URI."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = [
        uri[len(AGENCY_URN) :]
        for uri in san.value.get_values_for_type(x509.UniformResourceIdentifier)
        if uri.startswith(AGENCY_URN)
    ]
    return uris[0] if len(uris) == 1 and uris[0] else None  # two agencies in one cert: none


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    start: dt.datetime,
    end: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(
    digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _days(days: int) -> dt.datetime:
    return _now() + dt.timedelta(days=days)
