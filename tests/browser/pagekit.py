"""Small helpers the browser tests share: Playwright's expect, a job card, a submit."""

from __future__ import annotations


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


def card(page, n: int = 0):
    return page.locator("#job-list > li").nth(n)


def submit(page, prompt: str, duration: str = "30 s"):
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label(duration, exact=True).check()
    page.get_by_role("button", name="Generate").click()


def composer_song(worker_pool, open_page, base_url: str, prompt: str, height: int = 900):
    """A page at 1280 px whose first card is a finished 30 s composer song (seed 7)."""
    worker_pool.ensure(ENGINE="composer")
    page = open_page(base_url, width=1280, height=height)
    page.goto("/")
    page.get_by_label("Seed").fill("7")
    submit(page, prompt)
    expect()(card(page)).to_have_attribute("data-status", "finished", timeout=90000)
    return page
