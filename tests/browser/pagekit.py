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
