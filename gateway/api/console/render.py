"""Rendering console pages: one Jinja2 environment (autoescape on), time shown in China time,
and a route class that answers refusals with an HTML page of the right 4xx status."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from gateway.domain.errors import LianxinError
from gateway.domain.personal import mask_text

log = logging.getLogger("lianxin.console")
HERE = Path(__file__).parent
CHINA = timezone(timedelta(hours=8), "UTC+8")


class LoginRequired(Exception):
    """Raised by a page that needs a session when there is none: the answer is the login page."""


def local_time(epoch: float | None, seconds: bool = True) -> str:
    """An epoch as China time, e.g. 2026-11-27 18:30:05."""
    if epoch is None:
        return "—"
    at = datetime.fromtimestamp(epoch, UTC).astimezone(CHINA)
    return at.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["at"] = local_time
    env.filters["compact_json"] = _pretty
    env.filters["ms"] = _ms
    env.filters["mask"] = lambda text: mask_text(str(text)) if text else ""
    return env


ENV = _environment()


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """`template` rendered with `context`, the session and CSRF token of the request."""
    state = request.state
    html = ENV.get_template(template).render(
        session=getattr(state, "console_session", None),
        csrf=getattr(state, "console_csrf", ""),
        can_act=getattr(state, "console_can_act", False),
        open_mode=request.app.state.tokens.open,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status, headers=SECURITY_HEADERS)


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def error_page(request: Request, status: int, code: str, message: str) -> HTMLResponse:
    """A refusal as a page: the status, a code and a message meant for the admin."""
    return page(request, "error.html", status, code=code, message=message)


class ConsoleRoute(APIRoute):
    """An APIRoute whose refusals (domain errors, bad query or form input, no session) are
    HTML pages instead of the API's JSON bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return RedirectResponse("/admin/login", 303, headers=SECURITY_HEADERS)
            except RequestValidationError as exc:
                where = ", ".join(".".join(map(str, e.get("loc", ()))) for e in exc.errors())
                return error_page(request, 422, "validation_error", f"invalid input: {where}")
            except LianxinError as exc:
                if exc.http_status >= 500:
                    log.error("%s: %s", exc.code, exc.message)
                    return error_page(request, exc.http_status, exc.code, "the gateway failed")
                return error_page(request, exc.http_status, exc.code, exc.message)

        return guarded
