"""Console sessions end when they should, at once and for every process: at logout, and
when the token that opened them is removed or replaced; with the session key in settings,
a restart or a second process keeps the others."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.e2e.console.stack import console_stack, tokens
from tests.e2e.console.test_console_http import csrf_of, logged_in

PAGE = "/admin/deliveries"


def admitted(url: str, cookies: httpx.Cookies) -> bool:
    """True when a client holding `cookies` gets the page, not the way to the login form."""
    with httpx.Client(base_url=url, cookies=cookies, timeout=10) as client:
        answer = client.get(PAGE)
    return answer.status_code == 200


def test_logout_ends_a_copied_cookie_at_once_in_every_process(tmp_path: Path) -> None:
    db, key, held = f"sqlite:///{tmp_path / 'lianxin.db'}", secrets.token_urlsafe(32), tokens()
    with console_stack(db, held, session_key=key) as first:
        user = logged_in(first, "operator")
        copied = httpx.Cookies(user.cookies)
        with console_stack(db, held, session_key=key) as second:
            assert admitted(second.url, copied), "another process with the key keeps the session"
            page = user.get(PAGE).text
            assert user.post("/admin/logout", data={"csrf": csrf_of(page)}).status_code == 303
            assert not admitted(first.url, copied), "logged out here"
            assert not admitted(second.url, copied), "and in the other process at once"
            assert user.get("/admin/login").status_code == 200, "no redirect loop after logout"


def test_a_restart_keeps_sessions_whose_token_is_still_configured(tmp_path: Path) -> None:
    db, key, held = f"sqlite:///{tmp_path / 'lianxin.db'}", secrets.token_urlsafe(32), tokens()
    with console_stack(db, held, session_key=key) as before:
        operator = httpx.Cookies(logged_in(before, "operator").cookies)
        admin = httpx.Cookies(logged_in(before, "admin").cookies)
    removed = {role: token for role, token in held.items() if role != "operator"}
    with console_stack(db, removed, session_key=key) as after:
        assert admitted(after.url, admin), "the admin's token is still there"
        assert not admitted(after.url, operator), "the operator's token was removed"
    replaced = {**held, "admin": f"admin-{secrets.token_hex(16)}"}
    with console_stack(db, replaced, session_key=key) as again:
        assert not admitted(again.url, admin), "the admin's token was replaced"


def test_without_a_session_key_a_restart_ends_sessions(tmp_path: Path) -> None:
    db, held = f"sqlite:///{tmp_path / 'lianxin.db'}", tokens()
    with console_stack(db, held) as before:
        cookie = httpx.Cookies(logged_in(before, "viewer").cookies)
        assert admitted(before.url, cookie)
    with console_stack(db, held) as after:
        assert not admitted(after.url, cookie)
