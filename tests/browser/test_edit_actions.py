"""Extend, Repaint and Cover on a finished track's card in Chromium: the exact
request each action sends, the derived card, and its kept/new segments."""

from __future__ import annotations

import re

import pytest

from tests.browser.pagekit import card, composer_song, expect

pytestmark = pytest.mark.browser

PROMPT = "Upbeat pop with piano and drums"


@pytest.fixture
def track(live_api, worker_pool, settings, open_page):
    """A page holding one finished 30 s composer track (its waveform drawn)."""
    page = composer_song(worker_pool, open_page, live_api.url, PROMPT, height=1000)
    expect()(card(page)).to_have_attribute("data-peaks", "1")
    page.source_id = card(page).get_attribute("data-job-id")
    return page


def _send(page, button: str) -> dict:
    with page.expect_request(lambda r: r.url.endswith("/api/generate")
                             and r.method == "POST") as request:
        page.get_by_role("button", name=button).click()
    return request.value.post_data_json


def test_extend_sends_its_fields_and_the_new_card_draws_its_segments(track):
    page = track
    source = card(page)
    source.get_by_role("button", name=f"Extend: {PROMPT}").click()
    source.get_by_label("Seconds to add").select_option("60")
    source.get_by_label(re.compile("^Keep the first seconds")).fill("20")
    body = _send(page, "Extend track")
    assert body == {"task": "extend", "source_job": page.source_id, "extend_by": 60,
                    "extend_from": 20}
    derived = card(page, 0)
    expect()(derived).to_have_attribute("data-source", page.source_id)
    expect()(derived.locator(".derived")).to_have_text(f"Extension of “{PROMPT}”")
    expect()(derived).to_have_attribute("data-status", "finished", timeout=90000)
    expect()(derived.locator(".job-meta")).to_contain_text("80 s")
    segments = derived.locator(".segments .segment")
    expect()(segments).to_have_count(2)
    assert segments.evaluate_all("s => s.map(x => x.dataset.kind)") == ["kept", "new"]
    widths = segments.evaluate_all("s => s.map(x => [parseFloat(x.style.left),"
                                   " parseFloat(x.style.width)])")
    assert widths[0] == pytest.approx([0, 25], abs=0.5)  # 0-20 s of 80
    assert widths[1] == pytest.approx([25, 75], abs=0.5)
    # drawn: the blocks have a size on screen, proportional to their length
    boxes = [segments.nth(i).bounding_box() for i in range(2)]
    assert boxes[1]["width"] == pytest.approx(3 * boxes[0]["width"], rel=0.05)
    # the source's card has no segment strip: it is no edit
    assert card(page, 1).locator(".segments").count() == 0
    assert page.errors == []


def test_repaint_takes_the_range_dragged_on_the_waveform(track):
    page = track
    source = card(page)
    source.get_by_role("button", name=f"Repaint: {PROMPT}").click()
    go = source.get_by_role("button", name="Repaint range")
    expect()(go).to_be_disabled()
    canvas = source.locator("canvas.wave")
    box = canvas.bounding_box()
    y = box["y"] + box["height"] / 2

    def drag(a: float, b: float) -> None:
        page.mouse.move(box["x"] + box["width"] * a, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * (a + b) / 2, y, steps=3)
        page.mouse.move(box["x"] + box["width"] * b, y, steps=3)
        page.mouse.up()

    drag(0.5, 0.55)  # 1.5 s: too short to repaint
    expect()(source.locator(".range-text")).to_contain_text("choose 3–90 s")
    expect()(go).to_be_disabled()
    drag(0.2, 0.5)  # 6 s to 15 s of 30
    expect()(source.locator(".range-text")).to_have_text("0:06–0:15 (9.0 s)")
    shade = source.locator(".range")
    assert float(shade.evaluate("s => parseFloat(s.style.left)")) == pytest.approx(20, abs=0.5)
    # a drag does not seek
    assert source.locator("audio").evaluate("a => a.currentTime") == 0
    source.get_by_label("Describe the repainted part (optional)").fill("with strings")
    body = _send(page, "Repaint range")
    assert body == {"task": "repaint", "source_job": page.source_id, "start": 6, "end": 15,
                    "prompt": "with strings"}
    derived = card(page, 0)
    expect()(derived.locator(".derived")).to_have_text(f"Repaint of “{PROMPT}”")
    expect()(derived).to_have_attribute("data-status", "finished", timeout=90000)
    kinds = derived.locator(".segments .segment").evaluate_all(
        "s => s.map(x => x.dataset.kind)")
    assert kinds == ["kept", "new", "kept"]
    assert page.errors == []


def test_cover_needs_a_prompt_and_sends_the_strength(track):
    page = track
    source = card(page)
    source.get_by_role("button", name=f"Cover: {PROMPT}").click()
    source.get_by_role("button", name="Make cover").click()
    expect()(source.locator(".edit-error")).to_have_text(
        "A cover needs a prompt: the style to play it in.")
    source.get_by_label("Cover style").fill("smooth jazz trio")
    source.get_by_label("How much of the original to keep").fill("0.25")
    body = _send(page, "Make cover")
    assert body == {"task": "cover", "source_job": page.source_id,
                    "prompt": "smooth jazz trio", "strength": 0.25}
    derived = card(page, 0)
    expect()(derived.locator(".derived")).to_have_text(f"Cover of “{PROMPT}”")
    expect()(derived).to_have_attribute("data-status", "finished", timeout=90000)
    kinds = derived.locator(".segments .segment").evaluate_all("s => s.map(x => x.dataset.kind)")
    assert kinds == ["new"]
    assert page.errors == []


def test_a_refused_edit_shows_the_apis_words(track, jobs):
    page = track
    jobs.update(page.source_id, expired="1")  # the audio went while the page was open
    source = card(page)
    source.get_by_role("button", name=f"Extend: {PROMPT}").click()
    page.get_by_role("button", name="Extend track").click()
    expect()(source.locator(".edit-error")).to_contain_text("expired")
    assert card(page, 0).get_attribute("data-job-id") == page.source_id  # nothing added
