"""The page at `/` in a real Chromium, against gunicorn (gevent) and a real worker."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.pagekit import card, expect, submit
from tests.support.services import ApiServer

pytestmark = pytest.mark.browser

PROMPT = "Smooth jazz quartet with walking bass and brushed drums"


def test_type_submit_watch_it_finish_play_and_download(live_api, worker, open_page, tmp_path):
    page = open_page(live_api.url)
    page.goto("/")
    expect()(page.get_by_role("heading", name="Music generator")).to_be_visible()
    expect()(page.locator("#empty")).to_be_visible()

    # Typing updates the character count.
    page.get_by_label("Prompt").press_sequentially(PROMPT, delay=5)
    expect()(page.locator("#prompt-count")).to_have_text(f"{len(PROMPT)} / 500")
    expect()(page.get_by_label("60 s")).to_be_checked()  # the default duration
    page.get_by_label("30 s").check()
    page.get_by_label("Genre").fill("jazz")
    page.get_by_label("Seed").fill("1234")
    page.get_by_role("button", name="Generate").click()

    job = card(page)
    expect()(job).to_contain_text(PROMPT)
    expect()(job).to_have_attribute("data-status", "finished", timeout=30000)
    expect()(job.locator(".badge")).to_have_text("Ready")
    expect()(job.locator(".job-meta")).to_have_text("30 s · jazz")
    # Details are one click away; the seed is said there, once.
    details = job.locator("details.track-details")
    expect()(details).not_to_have_attribute("open", "")
    details.locator("summary").click()
    expect()(details.locator(".understood")).to_be_visible()
    expect()(details.locator(".understood")).to_contain_text("Latency")
    expect()(details.locator(".understood")).to_contain_text("fixed")
    assert details.inner_text().count("1234") == 1
    assert job.inner_text().count("1234") == 1

    # The player loads the metadata of a 30 s WAV (via Range requests).
    audio = job.locator("audio")
    job_id = job.get_attribute("data-job-id")
    assert audio.get_attribute("src") == f"/api/audio/{job_id}"
    audio.evaluate(
        "a => a.readyState >= 1 || new Promise((ok, bad) => {"
        " a.addEventListener('loadedmetadata', ok, {once: true});"
        " a.addEventListener('error', () => bad(new Error('audio error ' + a.error?.code)),"
        " {once: true}); a.load(); })"
    )
    assert audio.evaluate("a => a.duration") == pytest.approx(30.0, abs=0.01)

    # Seeking works: the browser asks for a byte range and plays from there.
    audio.evaluate("a => { a.muted = true; a.currentTime = 20; }")
    page.wait_for_function(
        "a => !a.seeking && a.currentTime >= 19.9", arg=audio.element_handle(), timeout=10000
    )

    # The download link returns a WAV, with this page's session cookie.
    link = job.get_by_role("link", name="Download WAV")
    assert link.get_attribute("download") == f"music_{job_id}.wav"
    wav = page.request.get(link.get_attribute("href"))
    assert wav.status == 200 and wav.headers["content-type"] == "audio/wav"
    body = wav.body()
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    assert len(body) == 44 + 30 * 48000 * 4
    in_page = page.evaluate(
        "async url => { const r = await fetch(url, {credentials: 'same-origin'});"
        " const b = new Uint8Array(await r.arrayBuffer());"
        " return [r.status, String.fromCharCode(...b.slice(0, 4)), b.length]; }",
        link.get_attribute("href"),
    )
    assert in_page == [200, "RIFF", len(body)]

    page.screenshot(path=str(tmp_path / "finished.png"), full_page=True)

    # A reload rebuilds the list from GET /api/jobs.
    page.reload()
    expect()(card(page)).to_have_attribute("data-status", "finished")
    expect()(card(page)).to_have_attribute("data-job-id", job_id)
    expect()(page.locator("#jobs-total")).to_have_text("1 in this session")
    expect()(page.get_by_role("button", name="Show older tracks")).to_be_hidden()

    # Phone width: nothing overflows sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect()(card(page).locator("audio")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "finished-390.png"), full_page=True)
    print(f"screenshots: {tmp_path}")
    assert page.errors == []


def test_live_progress_then_cancel_a_queued_job(live_api, worker_pool, settings, open_page,
                                                tmp_path):
    worker_pool.ensure(FIXED_ENGINE_MS="4000")
    page = open_page(live_api.url)
    page.goto("/")
    submit(page, "Heavy rock anthem with distorted guitars")
    first = page.locator("#job-list > li", has_text="Heavy rock anthem")
    expect()(first).to_have_attribute("data-status", "started", timeout=20000)
    expect()(first.locator("progress")).to_be_visible()

    submit(page, "Acoustic folk ballad with fingerpicked guitar")
    second = page.locator("#job-list > li", has_text="Acoustic folk ballad")
    expect()(second).to_have_attribute("data-status", "queued")
    expect()(second.locator(".queue-info")).to_have_text(
        re.compile(r"Position 1 in the queue · ready in about \d+")
    )
    expect()(page.locator("#job-list > li").first).to_contain_text("Acoustic folk ballad")

    # Progress arrives over the event stream while the first job runs.
    expect()(first.locator(".progress-label")).to_have_text(
        re.compile(r"Generating… ([1-9]\d*)%"), timeout=10000
    )
    page.screenshot(path=str(tmp_path / "running.png"), full_page=True)

    second.get_by_role("button", name=re.compile("^Cancel")).click()
    expect()(second).to_have_attribute("data-status", "canceled")
    expect()(second.locator(".badge")).to_have_text("Canceled")
    expect()(second.get_by_role("button", name=re.compile("^Cancel"))).to_have_count(0)
    expect()(first).to_have_attribute("data-status", "finished", timeout=20000)

    page.reload()
    expect()(page.locator("#job-list > li", has_text="Acoustic folk ballad")).to_have_attribute(
        "data-status", "canceled"
    )
    assert page.errors == []


def test_falls_back_to_polling_when_the_stream_fails(live_api, worker, open_page):
    page = open_page(live_api.url)
    page.route("**/api/jobs/*/events", lambda route: route.abort())
    page.goto("/")
    submit(page, "Chill lo-fi hip hop beat with vinyl crackle")
    # No events at all: the 5 s poll finds the finished job.
    expect()(card(page)).to_have_attribute("data-status", "finished", timeout=15000)
    expect()(card(page).locator("audio")).to_be_visible()


def test_validation_and_server_errors_are_shown_near_the_form(live_api, no_worker, open_page):
    page = open_page(live_api.url)
    page.goto("/")
    alert = page.locator("#form-error")

    # Keyboard only: an example fills the prompt, Ctrl+Enter submits.
    page.get_by_role("button", name=re.compile("Use example: Ethereal ambient")).focus()
    page.keyboard.press("Enter")
    expect()(page.get_by_label("Prompt")).to_have_value(
        "Ethereal ambient soundscape with soft pads and distant chimes"
    )
    expect()(page.get_by_label("Prompt")).to_be_focused()
    expect()(page.get_by_label("Genre")).to_have_value("ambient")

    page.get_by_label("Genre").fill("x" * 60)  # the server answers 422
    page.get_by_label("Prompt").press("Control+Enter")
    expect()(alert).to_have_attribute("role", "alert")
    expect()(alert).to_have_text("genre must be at most 50 characters")

    page.get_by_label("Genre").fill("")
    page.get_by_label("Prompt").fill("   ")
    page.get_by_role("button", name="Generate").click()
    expect()(alert).to_have_text("Please describe the music you want in the prompt.")

    page.get_by_label("Prompt").fill("a" * 510)
    expect()(page.locator("#prompt-count")).to_have_text("510 / 500: 10 over the limit")
    page.get_by_role("button", name="Generate").click()
    expect()(alert).to_contain_text("limit is 500")

    # A 5xx shows a readable message too.
    page.route("**/api/generate", lambda route: route.fulfill(
        status=503, content_type="application/json", headers={"Retry-After": "5"},
        body='{"detail": "Service temporarily unavailable (job store unreachable); retry shortly"}',
    ))
    page.get_by_label("Prompt").fill("Romantic piano piece")
    page.get_by_role("button", name="Generate").click()
    expect()(alert).to_contain_text("The server had a problem (Service temporarily unavailable")
    expect()(page.locator("#job-list > li")).to_have_count(0)


def test_sixth_submission_in_a_minute_shows_the_rate_limit(open_page, settings, no_worker,
                                                           tmp_path):
    server = ApiServer({**os.environ, "RATE_LIMIT_SESSION": "5/minute"},
                       tmp_path / "gunicorn.log", workers=1).start()
    try:
        page = open_page(server.url, width=390, height=844)
        page.goto("/")
        for i in range(5):
            submit(page, f"Energetic techno track number {i + 1}")
            expect()(page.locator("#job-list > li")).to_have_count(i + 1)
        expect()(page.locator("#form-error")).to_be_hidden()
        submit(page, "Energetic techno track number 6")
        alert = page.get_by_role("alert").filter(has_text="Too many requests")
        expect()(alert).to_be_visible()
        expect()(alert).to_have_text(re.compile(r"Try again in (\d+ s|1 min)\.$"))
        expect()(page.get_by_role("button", name="Generate")).to_be_disabled()
        expect()(page.locator("#form-status")).to_contain_text("Generate is available again in")
        expect()(page.locator("#job-list > li")).to_have_count(5)
        page.screenshot(path=str(tmp_path / "rate-limited-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        server.stop()
