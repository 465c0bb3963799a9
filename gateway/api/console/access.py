"""Who may use the console, and what they may do.

Admins and operators may look and act (replay, pause, resume); viewers may look only;
the hotline platform's machine token is refused. Every POST is checked for its CSRF token
before anything else is read from the form.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request

from gateway.api.auth import Role
from gateway.api.console.render import LoginRequired
from gateway.api.console.session import SESSION_COOKIE, Session, SessionKeys
from gateway.domain.errors import Forbidden, InputError

ACTORS = frozenset({Role.admin.value, Role.operator.value})
LOOKERS = ACTORS | {Role.viewer.value}
FORM_LIMIT = 64_000  # bytes: console forms are small


@dataclass(frozen=True)
class Form:
    """A posted console form: its fields (first value of each) and who posted it."""

    session: Session
    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        """The field's value with surrounding blanks removed, or `default`."""
        return self.fields.get(name, default).strip()


def keys(request: Request) -> SessionKeys:
    """The session keys of this process."""
    return request.app.state.console_keys  # type: ignore[no-any-return]


async def looker(request: Request) -> Session:
    """The logged-in session (any console role); the login page when there is none, when it
    was logged out, or when its token was removed or replaced or its role changed."""
    session = await current_session(request)
    if session is None or session.role not in LOOKERS:
        raise LoginRequired
    request.state.console_session = session
    request.state.console_csrf = keys(request).csrf(session.nonce)
    request.state.console_can_act = session.role in ACTORS
    return session


async def current_session(request: Request) -> Session | None:
    """The cookie's session if it is still good: signed, unexpired, its token and role still
    configured, and not logged out (checked in the database, shared by every process)."""
    session = keys(request).open(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    held = request.app.state.tokens.digest_of(session.name)
    if held is None or held[1].value != session.role:
        return None
    if not hmac.compare_digest(keys(request).fingerprint(held[0]), session.token):
        return None
    store = request.app.state.gateway.store
    revoked = await store.read(lambda uow: uow.security.session_revoked(session.nonce))
    return None if revoked else session


async def actor(request: Request) -> Form:
    """A form posted by an admin or operator, its CSRF token checked."""
    session = await looker(request)
    fields = await read_form(request)
    if not keys(request).csrf_ok(session.nonce, fields.get("csrf")):
        raise Forbidden("the form has expired or did not come from this console: reload it")
    if session.role not in ACTORS:
        raise Forbidden(f"role '{session.role}' may look but not act")
    return Form(session, fields)


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body as a dict (first value of each field)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise InputError("console forms are sent as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > FORM_LIMIT:
        raise InputError("the form is too large")
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise InputError("the form is not UTF-8") from exc
    return {name: values[0] for name, values in parsed.items()}
