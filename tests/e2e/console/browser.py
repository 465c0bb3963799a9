"""Debian's chromium driven by Playwright, headless, with nothing reaching the network.

Never `playwright install`: the browser is the system package (`apt-get install chromium`,
which `./dev.sh test` does when it is missing).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("LIANXIN_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    f"no chromium at {CHROMIUM}: install Debian's package with `apt-get install -y chromium` "
    "(./dev.sh test does it when run as root) or set LIANXIN_TEST_CHROMIUM"
)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless chromium; FileNotFoundError with the command to install it when missing."""
    if not os.access(CHROMIUM, os.X_OK):
        raise FileNotFoundError(MISSING)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Page, url: str, token: str) -> None:
    """Paste `token` into the console's login form and submit it."""
    page.goto(f"{url}/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
