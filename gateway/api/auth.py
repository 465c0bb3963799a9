"""API tokens and roles for the hotline platform, admins, operators and viewers.

`LIANXIN_API_TOKENS` maps a holder's name to its role and token, e.g.
`{"guangzhou-12345": {"role": "hotline", "token": "…"}, "ops-li": {"role": "admin", …}}`.
A request carries `Authorization: Bearer <token>`. Tokens are compared as SHA-256 digests
with `hmac.compare_digest` against every configured token, so neither the comparison nor
the number of holders leaks through timing. Agencies do not use tokens: their messages are
signed (and, with mutual TLS, bound to their certificate). Without any token configured the
API is closed (every request 401), unless `open_api` is set for development: then it is
open and the gateway says so loudly at start-up (`lianxin serve` allows that on loopback
only).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Request, Security
from fastapi.requests import HTTPConnection
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.domain.errors import Forbidden, Unauthorized
from gateway.settings import Settings

log = logging.getLogger("lianxin.auth")


class Role(StrEnum):
    """What a token holder may do."""

    hotline = "hotline"  # the hotline platform: submit orders and events, read them
    admin = "admin"  # everything, including admin actions (replay, pause, keys)
    operator = "operator"  # read, and operational actions (replay, pause)
    viewer = "viewer"  # read only


@dataclass(frozen=True)
class Principal:
    """Who made a request."""

    name: str
    role: Role


OPEN = Principal("anonymous (no API tokens configured)", Role.admin)
#: the scope key where the rate limits leave the holder of the request's token
PRINCIPAL = "lianxin.principal"
READERS = (Role.hotline, Role.admin, Role.operator, Role.viewer)


class TokenBook:
    """The configured tokens, held as digests."""

    def __init__(self, settings: Settings) -> None:
        self._holders = [
            (hashlib.sha256(spec.token.get_secret_value().encode()).digest(), name, spec.role)
            for name, spec in settings.api_tokens.items()
        ]
        self._open = not self._holders and settings.open_api
        if self._open:
            log.warning("LIANXIN_API_TOKENS is not set: the API is open to anyone (development)")
        elif not self._holders:
            log.warning("LIANXIN_API_TOKENS is not set: every API request is refused")

    @property
    def open(self) -> bool:
        """True when no token is configured and open_api allows an open API (development)."""
        return self._open

    def digest_of(self, name: str) -> tuple[bytes, Role] | None:
        """The digest of `name`'s token and its role, or None when no such holder is left."""
        for digest, holder, role in self._holders:
            if holder == name:
                return digest, Role(role)
        return None

    def holder(self, token: str) -> Principal | None:
        """The holder of `token`, checked against every token in constant time."""
        if not token:
            return None
        offered = hashlib.sha256(token.encode()).digest()
        found = None
        for digest, name, role in self._holders:
            if hmac.compare_digest(digest, offered):
                found = Principal(name, Role(role))
        return found


class _DocumentedBearer(HTTPBearer):
    """The bearer scheme for the OpenAPI document only: at run time it reads nothing
    (`check` has the holder from the rate limits, or reads the header itself)."""

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        return None


#: documents the token in the OpenAPI (`bearer`, the Authorize button of /docs); `check`
#: reads the header itself, so an open API and the error body stay as they are
BEARER = _DocumentedBearer(
    scheme_name="bearer",
    description="A token from LIANXIN_API_TOKENS: `Authorization: Bearer <token>`. Its "
    "holder's role (hotline, admin, operator, viewer) decides what it may do.",
    auto_error=False,
)


def allow(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency admitting holders of `roles` (and admins); the Principal is its value."""

    # OpenAPI 3.1 lets a bearer requirement list the roles it needs: the document shows them
    documented = Security(BEARER, scopes=sorted({*roles, Role.admin}))

    async def check(
        request: Request, _documented: HTTPAuthorizationCredentials | None = documented
    ) -> Principal:
        return admit(request, roles)

    return check


def admit(request: Request, roles: Iterable[Role]) -> Principal:
    """The request's token holder when it holds one of `roles` (or is an admin), else
    Unauthorized / Forbidden; for routes that check without a dependency (gateway/api/direct.py)."""
    book: TokenBook = request.app.state.tokens
    if book.open:
        return OPEN
    principal = request.scope.get(PRINCIPAL)  # found by the rate limits, or looked up
    if principal is None:
        principal = book.holder(bearer_token(request.scope["headers"]))
    if principal is None:
        raise Unauthorized("a valid 'Authorization: Bearer <token>' is required")
    if principal.role != Role.admin and principal.role not in roles:
        raise Forbidden(f"role '{principal.role}' may not {request.method} {request.url.path}")
    return principal


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The token of an `Authorization: Bearer <token>` among raw ASGI headers, or ""."""
    for name, value in headers:
        if len(name) == 13 and name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""
