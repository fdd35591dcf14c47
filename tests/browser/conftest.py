"""Playwright driving Debian's Chromium (never Playwright's own download)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(make test does when apt is usable) or set CHROMIUM_PATH"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageErrors(list):
    """JavaScript errors and console errors seen by a page."""


@pytest.fixture
def open_page(chromium):
    """open_page(base_url, width=1000) -> a page in a fresh context (fresh session cookie)."""
    contexts = []

    def open_(base_url: str, width: int = 1000, height: int = 900):
        context = chromium.new_context(
            base_url=base_url, viewport={"width": width, "height": height}
        )
        contexts.append(context)
        page = context.new_page()
        page.errors = PageErrors()
        page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: page.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.set_default_timeout(20000)
        return page

    yield open_
    for context in contexts:
        context.close()
