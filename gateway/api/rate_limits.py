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

Limits are `limits` strings ("600/minute", "50/second"; "none" switches one off), parsed
by the `limits` library and counted in memory per process by a sliding-window log
(gateway/api/sliding_window.py). The middleware reads the request's headers once, and
leaves the token holder it found in the scope (`PRINCIPAL`) for the route's role check.
"""

from __future__ import annotations

from collections.abc import Mapping

from limits import RateLimitItem, parse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.auth import PRINCIPAL, TokenBook, bearer_token
from gateway.api.errors import error_body
from gateway.api.limits import refuse
from gateway.api.sliding_window import SlidingWindowCounter
from gateway.service.json_codec import compact_json

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
    """ASGI middleware: one counter, one bucket per caller."""

    def __init__(self, app: ASGIApp, book: TokenBook, limits: Mapping[str, str]) -> None:
        self.app = app
        self.book = book
        self.limits = parse_limits(limits)
        self.counter = SlidingWindowCounter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        key, limit = self._caller(scope)
        if limit is None or self.counter.hit(key, limit.amount, limit.get_expiry()):
            await self.app(scope, receive, send)
            return
        wait = self.counter.retry_after(key, limit.amount, limit.get_expiry())
        message = f"too many requests from this caller: try again in {wait} s"
        body = compact_json(error_body("rate_limited", message))
        extra = [(b"retry-after", str(wait).encode())]
        await refuse(scope, receive, send, 429, "rate_limited", message, body, extra)

    def _caller(self, scope: Scope) -> tuple[str, RateLimitItem | None]:
        address = (scope.get("client") or ("unknown", 0))[0]
        token = bearer_token(scope["headers"])
        if token:
            holder = self.book.holder(token)
            if holder is not None:
                scope[PRINCIPAL] = holder
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
    if not path.startswith(AGENCY_ROUTES):
        return None
    prefix = next(p for p in AGENCY_ROUTES if path.startswith(p))
    name = path[len(prefix) :].split("/", 1)[0]
    gateway = getattr(scope["app"].state, "gateway", None) if "app" in scope else None
    if gateway is None or name not in gateway.directory.profiles:
        return None
    return name
