"""HTTPS and mutual TLS for `lianxin serve`: uvicorn options and the ASGI TLS extension.

uvicorn (0.54) terminates TLS but does not put the peer certificate in the ASGI scope
(the TLS extension is an open pull request upstream). `TlsScopeProtocol` adds it: when
a connection is made, after the handshake, it reads the transport's `ssl_object` once
and wraps the app of that connection so each request scope carries
`scope["extensions"]["tls"]` (ASGI TLS extension 0.2). An extension uvicorn itself
provides one day is left as it is.

The listener asks for a client certificate but does not demand one (`CERT_OPTIONAL`):
one that is presented must chain to `LIANXIN_TLS_CLIENT_CA` and be in date, or the
handshake fails; the agency routes then refuse a request that came without one, so
the hotline platform and health probes can use the same port without certificates.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.domain.errors import ConfigError
from gateway.settings import Settings

TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`/`uvicorn.Config`: none without a certificate."""
    if settings.tls_cert is None:
        if settings.tls_key or settings.tls_client_ca:
            raise ConfigError("LIANXIN_TLS_KEY and LIANXIN_TLS_CLIENT_CA need LIANXIN_TLS_CERT")
        return {}
    for path in (settings.tls_cert, settings.tls_key, settings.tls_client_ca):
        if path is not None and not path.is_file():
            raise ConfigError(f"TLS file not found: {path}")
    options: dict[str, Any] = {
        "ssl_certfile": str(settings.tls_cert),
        "ssl_keyfile": str(settings.tls_key) if settings.tls_key else None,
        "http": TlsScopeProtocol,
    }
    if settings.tls_client_ca is not None:
        options["ssl_ca_certs"] = str(settings.tls_client_ca)
        options["ssl_cert_reqs"] = ssl.CERT_OPTIONAL
    return options


class TlsScopeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, adding the ASGI TLS extension to every request scope."""

    # uvicorn narrows the transport type the same way (and silences mypy the same way)
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = tls_extension(transport.get_extra_info("ssl_object"))
        if tls is not None:
            self.app = _WithTls(self.app, tls)


def tls_extension(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> dict[str, Any] | None:
    """The extension's keys for one TLS connection; None for plain HTTP."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der) if der else None
    return {
        "server_cert": None,  # the ssl module cannot read back our own certificate
        "client_cert_chain": [cert.public_bytes(Encoding.PEM).decode()] if cert else [],
        "client_cert_name": cert.subject.rfc4514_string() if cert else None,
        "client_cert_error": None,  # a certificate that fails verification fails the handshake
        "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,  # the ssl module gives names, the extension wants IANA numbers
    }


class _WithTls:
    """One connection's app: the same app, the connection's TLS facts in each scope."""

    def __init__(self, app: ASGIApp, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("extensions", {}).setdefault("tls", self.tls)
        await self.app(scope, receive, send)
