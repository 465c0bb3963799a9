"""The admin console in a real browser against a real gateway: a delivery fails, an
operator finds it, opens its timeline, replays it and sees it delivered; a wrong token and
a viewer are refused; a bulk replay shows its dry-run count before it runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.console.browser import log_in
from tests.e2e.console.stack import ConsoleStack, order
from tests.integration.api.helpers import wait_until

pytestmark = pytest.mark.xdist_group("browser")  # one worker: one chromium

TAX, CITY = "tax-12366", "city-management"


def fail_then_recover(stack: ConsoleStack, agency: str, *orders: dict[str, object]) -> list[str]:
    """Submit `orders` while `agency` refuses everything (400: dead at once), then let it
    recover; the ids of the orders."""
    sim = stack.agencies[agency]
    sim.fail_next, sim.fail_status = 10**9, 400
    ids = [stack.submit(o) for o in orders]
    wait_until(lambda: stack.dead(agency) >= len(ids), 20, f"{len(ids)} dead letters")
    sim.fail_next = 0
    return ids


def test_an_operator_replays_a_dead_letter_from_its_timeline_and_sees_it_delivered(
    stack: ConsoleStack, page: Page
) -> None:
    [order_id] = fail_then_recover(stack, TAX, order("GZ-C1", "个税专项附加扣除如何填报"))
    log_in(page, stack.url, stack.tokens["operator"])
    expect(page.locator("h1")).to_contain_text("失败投递")
    cookie = next(c for c in page.context.cookies() if c["name"] == "lianxin_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.select_option("#agency", TAX)
    page.select_option("#state", "dead")
    page.click("text=筛选 Filter")
    row = page.locator("#failures tbody tr", has_text=order_id)
    expect(row).to_contain_text("400")
    expect(row).to_contain_text("个税专项附加扣除如何填报")
    row.locator("a.open").click()
    expect(page.locator(".summary .title")).to_have_text("个税专项附加扣除如何填报")
    expect(page.locator("#state")).to_have_text("dead")
    expect(page.locator("#steps")).to_contain_text("dead_lettered")
    payload = page.locator("#payload").inner_text()
    assert "139****1111" in payload and "13900001111" not in page.content()
    assert "李先生" not in page.content()
    page.click("#replay")
    expect(page.locator("#notice")).to_contain_text("已重新投递")
    wait_until(lambda: stack.state_of(order_id, TAX) == "delivered", 20, "the replay delivered")
    page.reload()
    expect(page.locator("#state")).to_have_text("delivered")
    expect(page.locator("#steps")).to_contain_text("replayed")
    assert stack.agencies[TAX].unique_deliveries() == 1


def test_a_wrong_token_is_refused_with_a_401_page_and_no_session(
    stack: ConsoleStack, page: Page
) -> None:
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        log_in(page, stack.url, "not-a-token-" + stack.tokens["operator"][:8])
    assert answer.value.status == 401
    expect(page.locator(".problem")).to_have_text("令牌无效 Token not recognised")
    assert "not-a-token" not in page.content()
    assert not [c for c in page.context.cookies() if c["name"] == "lianxin_console"]
    page.goto(f"{stack.url}/admin/deliveries")
    expect(page).to_have_url(f"{stack.url}/admin/login")


def test_a_viewer_sees_a_dead_letter_but_cannot_replay_it(stack: ConsoleStack, page: Page) -> None:
    [order_id] = fail_then_recover(stack, TAX, order("GZ-C2", "退税进度查询"))
    log_in(page, stack.url, stack.tokens["viewer"])
    expect(page.locator(".banner.info")).to_contain_text("Read only")
    page.locator("#failures tbody tr", has_text=order_id).locator("a.open").click()
    expect(page.locator("#replay")).to_be_disabled()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    handoff = page.locator(".facts code").first.inner_text()
    forced = page.request.post(
        f"{stack.url}/admin/handoffs/{handoff}/replay",
        form={"csrf": csrf, "order_id": order_id},
        max_redirects=0,
    )
    assert forced.status == 403 and "may look but not act" in forced.text()
    assert stack.state_of(order_id, TAX) == "dead"


def test_a_bulk_replay_shows_the_dry_run_count_of_the_chosen_agency_then_replays_them(
    stack: ConsoleStack, page: Page
) -> None:
    taxes = [order(f"GZ-B{k}", f"发票问题咨询 {k}") for k in range(3)]
    fail_then_recover(stack, TAX, *taxes)
    fail_then_recover(stack, CITY, order("GZ-B9", "夜间施工噪音扰民", category="complaint"))
    log_in(page, stack.url, stack.tokens["admin"])
    page.click("nav >> text=批量重投")
    page.select_option("#agency", TAX)
    page.click("#dry-run")
    expect(page.locator("#dry-count")).to_have_text("3")
    assert stack.dead(TAX) == 3  # a dry run changes nothing
    page.click("#confirm")
    expect(page.locator("#replayed")).to_have_text("3")
    wait_until(lambda: stack.agencies[TAX].unique_deliveries() == 3, 20, "three delivered")
    assert stack.dead(TAX) == 0 and stack.dead(CITY) == 1
