"""The console over plain HTTP: sessions, CSRF, roles, typed refusals, pause and resume."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import create_engine, update

from gateway.store.schema import audit_log
from tests.e2e.console.stack import ConsoleStack, console_stack, order
from tests.integration.api.helpers import wait_until

TAX = "tax-12366"


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def logged_in(stack: ConsoleStack, role: str) -> httpx.Client:
    """A client holding a console session of `role`."""
    client = httpx.Client(base_url=stack.url, timeout=10)
    form = client.get("/admin/login")
    answer = client.post(
        "/admin/login", data={"csrf": csrf_of(form.text), "token": stack.tokens[role]}
    )
    assert answer.status_code == 303, answer.text
    return client


def test_the_session_cookie_is_signed_httponly_strict_and_expires(stack: ConsoleStack) -> None:
    client = httpx.Client(base_url=stack.url)
    form = client.get("/admin/login")
    answer = client.post(
        "/admin/login", data={"csrf": csrf_of(form.text), "token": stack.tokens["operator"]}
    )
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "lianxin_console=" in v
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    assert stack.tokens["operator"] not in cookie


def test_the_hotline_platforms_token_cannot_open_the_console(stack: ConsoleStack) -> None:
    client = httpx.Client(base_url=stack.url)
    form = client.get("/admin/login")
    answer = client.post(
        "/admin/login", data={"csrf": csrf_of(form.text), "token": stack.tokens["hotline"]}
    )
    assert answer.status_code == 403 and "lianxin_console=" not in answer.headers.get(
        "set-cookie", ""
    )


def test_logging_out_needs_the_forms_token_and_ends_the_session(stack: ConsoleStack) -> None:
    client = logged_in(stack, "operator")
    assert client.post("/admin/logout", data={"csrf": "forged"}).status_code == 403
    page = client.get("/admin/deliveries")
    assert client.post("/admin/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    assert client.get("/admin/deliveries").headers["location"] == "/admin/login"


def test_an_altered_session_cookie_sends_back_to_the_login_page(stack: ConsoleStack) -> None:
    client = logged_in(stack, "viewer")
    value = client.cookies["lianxin_console"]
    payload, mac = value.split(".")
    client.cookies.set(
        "lianxin_console", f"{payload}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}", path="/admin"
    )
    answer = client.get("/admin/deliveries")
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/login"


def test_a_form_without_its_csrf_token_is_refused(stack: ConsoleStack) -> None:
    client = logged_in(stack, "operator")
    answer = client.post(f"/admin/agencies/{TAX}/pause", data={"reason": "维护"})
    assert answer.status_code == 403 and "did not come from this console" in answer.text
    login = httpx.post(f"{stack.url}/admin/login", data={"token": stack.tokens["operator"]})
    assert login.status_code == 403


def test_bad_filter_input_is_a_typed_4xx_page_never_a_500(stack: ConsoleStack) -> None:
    client = logged_in(stack, "viewer")
    cases = {
        "since=yesterday": (400, "invalid_input"),
        "agency=tax-12365": (404, "unknown_agency"),
        "state=alive": (400, "invalid_input"),
        "before=0": (422, "validation_error"),
        "since=2026-11-28T00:00&until=2026-11-27T00:00": (400, "invalid_input"),
        f"error={'x' * 300}": (422, "validation_error"),
    }
    for query, (status, code) in cases.items():
        answer = client.get(f"/admin/deliveries?{query}")
        assert (answer.status_code, code in answer.text) == (status, True), query
    assert client.get("/admin/orders/nope/handoffs/nope").status_code == 404
    assert client.get("/admin/agencies?window=5").status_code == 422


def test_an_operator_pauses_an_agency_with_a_reason_and_resumes_it(stack: ConsoleStack) -> None:
    client = logged_in(stack, "operator")
    page = client.get("/admin/agencies")
    assert f'data-agency="{TAX}"' in page.text
    paused = client.post(
        f"/admin/agencies/{TAX}/pause", data={"csrf": csrf_of(page.text), "reason": "系统升级维护"}
    )
    assert paused.status_code == 303
    after = client.get("/admin/agencies?notice=paused").text
    assert "已暂停 Paused" in after and "“系统升级维护” — ops-li" in after
    assert re.search(rf'data-agency="{TAX}" class="held"', after)
    states = stack.app.state.gateway.store.run_sync(lambda uow: uow.agencies.states(), writes=False)
    assert (states[TAX].paused, states[TAX].reason, states[TAX].changed_by) == (
        True,
        "系统升级维护",
        "ops-li",
    )
    resumed = client.post(f"/admin/agencies/{TAX}/resume", data={"csrf": csrf_of(after)})
    assert resumed.status_code == 303
    assert not stack.app.state.gateway.store.run_sync(
        lambda uow: uow.agencies.states(), writes=False
    )[TAX].paused


def test_a_disabled_agency_shows_why_and_can_be_resumed(stack: ConsoleStack) -> None:
    store = stack.app.state.gateway.store
    reason = "only failures for 3 days"
    store.run_sync(lambda uow: uow.agencies.disable(TAX, reason, 1_790_000_000.0))
    client = logged_in(stack, "operator")
    page = client.get("/admin/agencies").text
    assert "已停用 disabled" in page and f"“{reason}” — auto" in page
    assert re.search(rf'data-agency="{TAX}" class="held"', page)
    resumed = client.post(f"/admin/agencies/{TAX}/resume", data={"csrf": csrf_of(page)})
    assert resumed.status_code == 303
    assert not store.run_sync(lambda uow: uow.agencies.states(), writes=False)[TAX].disabled


def test_the_audit_page_says_verified_then_names_the_entry_that_was_altered(
    stack: ConsoleStack,
) -> None:
    order_id = stack.submit(order("GZ-A1", "餐馆拒开发票"))
    wait_until(lambda: stack.state_of(order_id, TAX) == "delivered", 20, "a delivery on record")
    client = logged_in(stack, "viewer")
    page = client.get("/admin/audit").text
    entries = int(re.search(r'id="entries">(\d+)<', page).group(1))  # type: ignore[union-attr]
    assert "已验证 verified" in page and entries >= 3
    engine = create_engine(stack.database_url)
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(party="forged"))
    engine.dispose()
    broken = client.get("/admin/audit").text
    assert "已损坏 broken" in broken and 'id="broken-at">2<' in broken


def test_an_open_api_still_takes_no_empty_token_at_the_console(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'open.db'}"
    with console_stack(db, api_tokens={}, open_api=True) as stack:
        client = httpx.Client(base_url=stack.url)
        form = client.get("/admin/login")
        assert "Open API mode" in form.text and 'id="token"' in form.text
        for offered in ({}, {"token": ""}, {"token": "   "}):
            entered = client.post("/admin/login", data={"csrf": csrf_of(form.text), **offered})
            assert entered.status_code == 401, offered
        assert client.get("/admin/deliveries", follow_redirects=False).status_code != 200


def test_the_failed_list_pages_back_fifty_at_a_time(stack: ConsoleStack) -> None:
    tax = stack.agencies[TAX]
    tax.fail_next, tax.fail_status = 10**9, 400
    for k in range(55):
        stack.submit(order(f"GZ-P{k:02d}", f"发票咨询 {k}"))
    wait_until(lambda: stack.dead(TAX) == 55, 30, "55 dead letters")
    client = logged_in(stack, "viewer")
    first = client.get(f"/admin/deliveries?agency={TAX}&state=dead").text
    assert 'id="total">55<' in first and first.count("<tr data-handoff=") == 50
    older = re.search(r'href="/admin/deliveries\?([^"]+)" id="older"', first)
    assert older, "no link to the older page"
    second = client.get(f"/admin/deliveries?{older.group(1).replace('&amp;', '&')}").text
    assert second.count("<tr data-handoff=") == 5 and "发票咨询 0 →" in second
    assert 'id="older"' not in second


def test_cancel_without_a_running_replay_says_so_and_viewers_may_not_cancel(
    stack: ConsoleStack,
) -> None:
    operator = logged_in(stack, "operator")
    form = operator.get("/admin/replay").text
    answer = operator.post("/admin/replay/cancel", data={"csrf": csrf_of(form)})
    assert answer.status_code == 200 and "No replay is running" in answer.text
    viewer = logged_in(stack, "viewer")
    refused = viewer.post(
        "/admin/replay/cancel", data={"csrf": csrf_of(viewer.get("/admin/replay").text)}
    )
    assert refused.status_code == 403
