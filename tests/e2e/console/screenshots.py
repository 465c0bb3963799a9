"""Screenshots of the console's main pages for docs/console/, over realistic data.

    .venv/bin/python -m tests.e2e.console.screenshots [--out docs/console]

Starts a gateway on loopback (SQLite in a temporary directory) with the simulated 12366
tax and city-management agencies refusing everything, takes in the demo's Guangzhou
orders (so tax and city deliveries become dead letters, and 110 and 12360, where nothing
listens, keep being retried), lets the tax agency recover for two more orders, pauses
customs, then logs in as an admin and photographs each page with Debian's chromium.
Needs a Chinese font (`apt-get install fonts-wqy-microhei`).
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from gateway.world.orders import DEMO_ORDERS
from tests.e2e.console.browser import chromium, log_in
from tests.e2e.console.stack import ConsoleStack, console_stack, order
from tests.integration.api.helpers import wait_until

OUT = Path(__file__).resolve().parents[3] / "docs" / "console"
TAX, CITY = "tax-12366", "city-management"


def stage(stack: ConsoleStack) -> str:
    """Fill the gateway with failures and a few deliveries; the id of a dead tax order."""
    for agency in (TAX, CITY):
        stack.agencies[agency].fail_next, stack.agencies[agency].fail_status = 10**9, 400
    today = secrets.token_hex(2).upper()
    ids = [stack.submit(_fresh(o, f"{today}-{k}")) for k, o in enumerate(DEMO_ORDERS[:7])]
    wait_until(lambda: stack.dead(TAX) >= 3 and stack.dead(CITY) >= 2, 30, "dead letters")
    stack.agencies[TAX].fail_next = 0
    for k, title in enumerate(("增值税发票丢失如何补开", "个体户定额税咨询")):
        caller = {"name": "黄女士", "phone": "13711112222"}
        extra = {"category": "help", "matter_code": "TAX-0102", "caller": caller}
        stack.submit(order(f"{today}-OK{k}", title, **extra))
    wait_until(lambda: stack.agencies[TAX].unique_deliveries() >= 2, 30, "tax recovered")
    return ids[1]  # the tax consult: 个税专项附加扣除如何填报


def _fresh(demo: dict[str, Any], flow: str) -> dict[str, Any]:
    received = order(flow, demo["title"])["received_at"]
    return {
        **demo,
        "flow_id": f"GZ12345-{flow}",
        "acceptance_no": f"SL{flow}",
        "received_at": received,
    }


def photograph(page: Page, stack: ConsoleStack, tax_order: str, out: Path) -> list[Path]:
    """Log in as an admin and save each main page as PNG; the files written."""
    shots: list[Path] = []

    def shoot(name: str) -> None:
        page.wait_for_load_state("networkidle")
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    page.goto(f"{stack.url}/admin/login")
    page.fill("#token", "••••••••••••••••••••••••")
    shoot("login")
    log_in(page, stack.url, stack.tokens["admin"])
    shoot("deliveries")
    page.goto(f"{stack.url}/admin/deliveries?agency={TAX}&state=dead")
    page.locator("#failures tbody tr", has_text=tax_order).locator("a.open").click()
    shoot("timeline")
    page.goto(f"{stack.url}/admin/replay")
    page.select_option("#agency", TAX)
    page.click("#dry-run")
    shoot("bulk-replay")
    page.goto(f"{stack.url}/admin/agencies")
    row = page.locator("tr[data-agency=customs-12360]")
    row.locator("input[name=reason]").fill("海关系统升级维护 22:00–24:00")
    row.locator("button[data-action=pause]").click()
    shoot("agencies")
    page.goto(f"{stack.url}/admin/audit")
    shoot("audit")
    return shots


def has_chinese_font() -> bool:
    """True when fontconfig knows a font for Chinese (else the pictures show empty boxes)."""
    try:
        found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return False
    return bool(found.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    """Stage the data, take the screenshots, say where they went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not has_chinese_font():
        print("no Chinese font: run `apt-get install -y fonts-wqy-microhei` first", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as work,
        console_stack(f"sqlite:///{work}/lianxin.db") as stack,
    ):
        tax_order = stage(stack)
        time.sleep(1.0)  # let the first retries of 110 and 12360 be recorded
        with chromium() as browser:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 860})
            shots = photograph(context.new_page(), stack, tax_order, args.out)
            context.close()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
