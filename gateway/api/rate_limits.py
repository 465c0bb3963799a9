"""Rate limits per caller, before any other work: past its limit a caller gets 429 and
`Retry-After`, and nothing of its request is read or stored.

Who the caller is:

- a request with a bearer token of a configured holder: that holder, at its role's limit;
- a request to an agency's own routes (`/v1/inbound/{agency}`, `/soap/{agency}`) naming a
  known agency: that agency and client address together, at the agency's limit
  (`agency:<id>`, else `agency`), so a stranger naming an agency cannot use up its quota;
- anyone else (no token, an unknown token, an unknown agency, the console): the client
  address, at the `anonymous` limit; while the API is open (development, no tokens) such
  callers act as admins and get the `hotline` limit instead.

Limits are `limits` strings ("600/minute", "50/second"; "none" switches one off), kept
in memory per process with the sliding-window-counter strategy of the `limits` library.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.auth import TokenBook
from gateway.api.errors import error_body
from gateway.api.limits import refuse

DEFAULT_LIMITS = {
    "anonymous": "600/minute",
    "agency": "6000/minute",
    "hotline": "300000/minute",  # a machine caller: far above any measured intake rate
    "admin": "6000/minute",
    "operator": "6000/minute",
    "viewer": "6000/minute",
}
UNLIMITED = "none"
EXEMPT = frozenset({"/healthz", "/readyz"})  # probes must always get through
AGENCY_ROUTES = ("/v1/inbound/", "/soap/")


def parse_limits(configured: Mapping[str, str]) -> dict[str, RateLimitItem | None]:
    """The defaults overridden by `configured`; ValueError names a key or value it refuses."""
    merged = {**DEFAULT_LIMITS, **configured}
    parsed: dict[str, RateLimitItem | None] = {}
    for key, text in merged.items():
        if key not in DEFAULT_LIMITS and not key.startswith("agency:"):
            known = ", ".join(sorted(DEFAULT_LIMITS))
            raise ValueError(f"rate limit key '{key}' is none of {known} or agency:<id>")
        parsed[key] = None if text.strip().lower() == UNLIMITED else _parse(key, text)
    return parsed


def _parse(key: str, text: str) -> RateLimitItem:
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"rate limit '{key}': '{text}' is not like '600/minute'") from exc


class RateLimits:
    """ASGI middleware: one limiter, one bucket per caller."""

    def __init__(self, app: ASGIApp, book: TokenBook, limits: Mapping[str, str]) -> None:
        self.app = app
        self.book = book
        self.limits = parse_limits(limits)
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT:
            await self.app(scope, receive, send)
            return
        key, limit = self._caller(scope)
        if limit is None or self.limiter.hit(limit, key):
            await self.app(scope, receive, send)
            return
        reset, _remaining = self.limiter.get_window_stats(limit, key)
        wait = max(1, math.ceil(reset - time.time()))
        message = f"too many requests from this caller: try again in {wait} s"
        body = json.dumps(error_body("rate_limited", message)).encode()
        extra = [(b"retry-after", str(wait).encode())]
        await refuse(scope, receive, send, 429, "rate_limited", message, body, extra)

    def _caller(self, scope: Scope) -> tuple[str, RateLimitItem | None]:
        headers = dict(scope["headers"])
        address = (scope.get("client") or ("unknown", 0))[0]
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            holder = self.book.holder(token.strip())
            if holder is not None:
                return f"holder:{holder.name}", self.limits.get(holder.role.value)
        agency = _agency_named(scope)
        if agency is not None:
            limit = self.limits.get(f"agency:{agency}", self.limits["agency"])
            return f"agency:{agency}:{address}", limit
        anonymous = "hotline" if self.book.open else "anonymous"
        return f"address:{address}", self.limits[anonymous]


def _agency_named(scope: Scope) -> str | None:
    """The known agency an agency route names, or None."""
    path = str(scope.get("path", ""))
    prefix = next((p for p in AGENCY_ROUTES if path.startswith(p)), None)
    if prefix is None:
        return None
    name = path[len(prefix) :].split("/", 1)[0]
    gateway = getattr(scope["app"].state, "gateway", None) if "app" in scope else None
    if gateway is None or name not in gateway.directory.profiles:
        return None
    return name
