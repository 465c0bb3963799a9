"""Console session cookies and CSRF tokens: signed, expiring, bound to one key."""

from __future__ import annotations

from gateway.api.console.session import SessionKeys

NOW = 1_800_000_000.0


def test_an_issued_cookie_opens_to_the_same_session() -> None:
    keys = SessionKeys()
    session, cookie = keys.issue("ops-li", "operator", now=NOW)
    assert keys.open(cookie, now=NOW + 60) == session


def test_a_cookie_past_its_expiry_opens_to_nothing() -> None:
    keys = SessionKeys(lifetime=600)
    _session, cookie = keys.issue("ops-li", "operator", now=NOW)
    assert keys.open(cookie, now=NOW + 601) is None


def test_a_cookie_whose_role_was_changed_opens_to_nothing() -> None:
    keys = SessionKeys()
    _session, cookie = keys.issue("watch-wang", "viewer", now=NOW)
    _other, admin_cookie = keys.issue("watch-wang", "admin", now=NOW)
    forged = f"{admin_cookie.split('.')[0]}.{cookie.split('.')[1]}"
    assert keys.open(forged, now=NOW) is None


def test_a_cookie_signed_by_another_process_opens_to_nothing() -> None:
    _session, cookie = SessionKeys().issue("ops-li", "operator", now=NOW)
    assert SessionKeys().open(cookie, now=NOW) is None


def test_garbage_cookies_open_to_nothing() -> None:
    keys = SessionKeys()
    for cookie in ("", "abc", "a.b.c", "!!!.00", None):
        assert keys.open(cookie, now=NOW) is None


def test_a_csrf_token_is_accepted_only_for_its_own_nonce() -> None:
    keys = SessionKeys()
    token = keys.csrf("nonce-1")
    assert keys.csrf_ok("nonce-1", token)
    assert not keys.csrf_ok("nonce-2", token)
    assert not keys.csrf_ok("nonce-1", None)
    assert not keys.csrf_ok(None, token)
