"""Shared request dependencies."""

from __future__ import annotations

from cryptography import x509
from fastapi import Request

from gateway.bootstrap import Gateway
from gateway.crypto.certs import agency_of
from gateway.service.ports.transport import Caller

# Dependencies are `async def` although they never wait: FastAPI runs a plain `def` one
# in its thread pool, and that hop took 3.6 % of the gateway's GIL samples under load.


async def gateway(request: Request) -> Gateway:
    """The gateway built by the lifespan."""
    return built(request)


def built(request: Request) -> Gateway:
    """The gateway built by the lifespan (for callers that are not dependencies)."""
    return request.app.state.gateway  # type: ignore[no-any-return]


async def caller(request: Request) -> Caller | None:
    """The client certificate's identity; None when mutual TLS is not configured."""
    if built(request).settings.tls_client_ca is None:
        return None
    tls = request.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return Caller(certificate=None, agency=None)
    certificate = x509.load_pem_x509_certificate(str(chain[0]).encode())
    return Caller(certificate.subject.rfc4514_string(), agency_of(certificate))
