"""Console sessions: a signed, HttpOnly, SameSite=Strict cookie, and CSRF tokens for forms.

The cookie holds who logged in (the token holder's name and role), when the session ends,
a random nonce and a fingerprint of the token used (HMAC of its digest, never the token),
signed with HMAC-SHA256 under `LIANXIN_CONSOLE_SESSION_KEY` (random per process when unset,
with a warning): a cookie cannot be forged or extended without the key, and with the key
in settings restarts and several processes keep sessions. A session ends at once when
its holder logs out (the nonce is revoked in the database, for every process), or when
its token is removed or replaced or its role changes (the fingerprint no longer matches).

Every POST form carries a CSRF token, HMAC(key, nonce): the nonce of the session, or, on
the login form, of a short-lived pre-login cookie. A cross-site page can neither read the
token nor (SameSite=Strict) send our cookies, so both defences must fail together.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "lianxin_console"
LOGIN_COOKIE = "lianxin_console_login"
SESSION_SECONDS = 8 * 3600  # one working shift
LOGIN_SECONDS = 15 * 60


@dataclass(frozen=True)
class Session:
    """Who is logged in to the console, until when, and the nonce their CSRF token is made of."""

    name: str
    role: str
    expires: float
    nonce: str
    token: str = ""  # fingerprint of the token the session was opened with


class SessionKeys:
    """Signs and checks session cookies and CSRF tokens with one per-process random key."""

    def __init__(self, key: bytes | None = None, lifetime: float = SESSION_SECONDS) -> None:
        self._key = key or secrets.token_bytes(32)
        self.lifetime = lifetime

    def issue(
        self, name: str, role: str, token_digest: bytes = b"", now: float | None = None
    ) -> tuple[Session, str]:
        """A new session for `name` and its signed cookie value."""
        at = time.time() if now is None else now
        fingerprint = self.fingerprint(token_digest)
        session = Session(name, role, at + self.lifetime, secrets.token_urlsafe(16), fingerprint)
        fields = {"n": name, "r": role, "x": session.expires, "c": session.nonce, "t": fingerprint}
        payload = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")
        return session, f"{payload}.{self._mac('session', payload)}"

    def open(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie carries; None when it is missing, altered or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("session", payload)):
            return None
        try:
            fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            session = Session(
                str(fields["n"]),
                str(fields["r"]),
                float(fields["x"]),
                str(fields["c"]),
                str(fields.get("t", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None
        at = time.time() if now is None else now
        return session if session.expires > at else None

    def fingerprint(self, token_digest: bytes) -> str:
        """What a cookie carries of its token: an HMAC of the token's digest under the key."""
        return self._mac("token", token_digest.hex())[:32]

    def csrf(self, nonce: str) -> str:
        """The CSRF token that forms of the holder of `nonce` carry."""
        return self._mac("csrf", nonce)

    def csrf_ok(self, nonce: str | None, offered: str | None) -> bool:
        """True when `offered` is the CSRF token of `nonce`."""
        if not nonce or not offered:
            return False
        return hmac.compare_digest(offered, self.csrf(nonce))

    def _mac(self, purpose: str, value: str) -> str:
        message = f"{purpose}:{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
