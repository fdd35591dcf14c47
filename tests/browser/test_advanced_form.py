"""The form's Advanced section in Chromium: what it sends, its counter, its switch.

The POST is intercepted and answered here, so each test sees exactly the body the
page sends (and needs no worker).
"""

from __future__ import annotations

import json

import pytest

from tests.browser.pagekit import card, expect

pytestmark = pytest.mark.browser

PROMPT = "Heavy rock anthem with distorted guitars"
LYRICS = "[verse]\nWalking down the empty street\n[chorus]\nSing it loud tonight"


def capture_posts(page) -> list[dict]:
    bodies: list[dict] = []

    def answer(route):
        bodies.append(json.loads(route.request.post_data))
        route.fulfill(status=202, content_type="application/json", body=json.dumps({
            "job_id": f"job{len(bodies)}", "status": "queued", "seed": 7,
            "queue_position": 1, "estimated_wait": 30,
        }))

    page.route("**/api/generate", answer)
    page.route("**/api/jobs/*/events", lambda route: route.abort())
    return bodies


def open_form(live_api, open_page, width=1000):
    page = open_page(live_api.url, width=width)
    page.goto("/")
    bodies = capture_posts(page)
    page.get_by_label("Prompt").fill(PROMPT)
    return page, bodies


def test_a_default_submit_is_the_guides_plain_request(live_api, no_worker, open_page):
    page, bodies = open_form(live_api, open_page)
    expect()(page.locator("#advanced")).not_to_have_attribute("open", "")
    page.get_by_role("button", name="Generate").click()
    expect()(card(page)).to_be_visible()
    # Opening Advanced and touching nothing sends the same.
    page.locator("#advanced summary").click()
    page.get_by_role("button", name="Generate").click()
    expect()(page.locator("#job-list > li")).to_have_count(2)
    assert bodies == [{"prompt": PROMPT, "duration": 60}] * 2


def test_advanced_sends_exactly_the_fields_set(live_api, no_worker, open_page):
    page, bodies = open_form(live_api, open_page)
    page.locator("#advanced summary").click()
    page.get_by_label("Lyrics").fill(LYRICS)
    page.get_by_label("Vocal language").select_option("de")
    page.get_by_label("Tempo").fill("163")
    page.get_by_label("Key").select_option("D minor")
    page.get_by_label("Meter").select_option("3/4")
    page.get_by_label("Format").select_option("flac")
    page.get_by_role("button", name="Generate").click()
    expect()(card(page)).to_be_visible()
    assert bodies == [{
        "prompt": PROMPT, "duration": 60, "lyrics": LYRICS, "vocal_language": "de",
        "bpm": 163, "key": "D minor", "time_signature": "3/4", "format": "flac",
    }]

    # Only a tempo and a format: nothing else travels (without lyrics the piece is
    # instrumental again, so the chosen language is hidden and not sent).
    page.get_by_label("Lyrics").fill("")
    expect()(page.get_by_label("Vocal language")).to_be_hidden()
    page.get_by_label("Key").select_option("")
    page.get_by_label("Meter").select_option("")
    page.get_by_label("Tempo").fill("90")
    page.get_by_label("Format").select_option("mp3")
    page.get_by_role("button", name="Generate").click()
    expect()(page.locator("#job-list > li")).to_have_count(2)
    assert bodies[1] == {"prompt": PROMPT, "duration": 60, "bpm": 90, "format": "mp3"}


def test_lyrics_counter_and_the_instrumental_switch(live_api, no_worker, open_page):
    page, bodies = open_form(live_api, open_page, width=375)
    page.locator("#advanced summary").click()
    switch = page.get_by_role("switch", name="Instrumental")
    language = page.get_by_label("Vocal language")
    expect()(switch).to_be_checked()  # no lyrics: instrumental by default
    expect()(language).to_be_hidden()
    expect()(page.locator("#lyrics-count")).to_have_text("0 / 3000")

    page.get_by_label("Lyrics").press_sequentially("[verse]\nla la", delay=5)
    expect()(page.locator("#lyrics-count")).to_have_text("13 / 3000")
    # Lyrics are sung: the switch goes off and cannot be turned back on.
    expect()(switch).not_to_be_checked()
    expect()(switch).to_be_disabled()
    expect()(language).to_be_visible()
    expect()(page.locator("#instrumental-hint")).to_contain_text("lyrics are sung")

    page.get_by_label("Lyrics").fill("x" * 3010)
    expect()(page.locator("#lyrics-count")).to_have_text("3010 / 3000: 10 over the limit")
    page.get_by_role("button", name="Generate").click()
    expect()(page.locator("#form-error")).to_have_text(
        "The lyrics are 3010 characters long; the limit is 3000."
    )
    expect()(page.get_by_label("Lyrics")).to_have_attribute("aria-invalid", "true")

    # Cleared lyrics give the switch back, on; turned off, it is sent as false.
    page.get_by_label("Lyrics").fill("")
    expect()(switch).to_be_enabled()
    expect()(switch).to_be_checked()
    expect()(language).to_be_hidden()
    switch.click()
    expect()(switch).not_to_be_checked()
    expect()(language).to_be_visible()
    page.get_by_label("Tempo").fill("300")
    page.get_by_role("button", name="Generate").click()
    expect()(page.locator("#form-error")).to_have_text(
        "The tempo must be a whole number of bpm from 40 to 220."
    )
    page.get_by_label("Tempo").fill("")
    page.get_by_role("button", name="Generate").click()
    expect()(card(page)).to_be_visible()
    assert bodies == [{"prompt": PROMPT, "duration": 60, "instrumental": False}]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_servers_422_detail_is_shown_by_the_form(live_api, no_worker, open_page):
    page = open_page(live_api.url)
    page.goto("/")
    detail = "`key` must be a major or minor key such as 'C major', 'F# minor' or 'Bb major'"
    page.route("**/api/generate", lambda route: route.fulfill(
        status=422, content_type="application/json", body=json.dumps({"detail": detail})))
    page.get_by_label("Prompt").fill(PROMPT)
    page.locator("#advanced summary").click()
    page.get_by_label("Key").select_option("F# minor")
    page.get_by_role("button", name="Generate").click()
    expect()(page.locator("#form-error")).to_have_text(detail)
    expect()(page.locator("#job-list > li")).to_have_count(0)
