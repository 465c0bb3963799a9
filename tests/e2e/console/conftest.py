"""Fixtures of the console's browser tests: one chromium per module, a gateway per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.console.browser import chromium
from tests.e2e.console.stack import ConsoleStack, console_stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless chromium; a missing browser fails the test (never skips) and says why."""
    try:
        with chromium() as running:
            yield running
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ConsoleStack]:
    """A gateway on SQLite with tokens configured and simulated tax and city agencies."""
    with console_stack(f"sqlite:///{tmp_path / 'lianxin.db'}") as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()
