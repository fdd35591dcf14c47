"""A finished track's card in Chromium: waveform, play position, section strip, details.

The job is real: the composer renders it through the stack. What the worker will
add once the issue-12 backend lands (`peaks`, `size_bytes`, `format` and
`understood.sections` with lyric lines) is computed here from the very WAV it
stored and written into its record with JobStore.update, as the worker will.
Until the job view passes those fields through, a route adds the ones the API
leaves out (a no-op once it serves them), so the page gets the contract's JSON.
"""

from __future__ import annotations

import json
import os
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.browser.pagekit import card, composer_song, expect, submit

pytestmark = pytest.mark.browser

PROMPT = "Heavy rock anthem with distorted guitars, powerful drums, and epic chorus"
LINES = {
    "verse": ["Engines roar on the empty road", "Midnight calls and I answer loud"],
    "chorus": ["We are the fire tonight", "We are the fire"],
}
# README's pictures are rewritten only on request (UPDATE_SCREENSHOTS=1), so an
# ordinary run leaves the tree clean.
README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "web" / "static" / "screenshots"


def peaks_of(path: Path, n: int = 300) -> list[int]:
    """Max |sample| of each of n equal slices over both channels, 0-100."""
    with wave.open(str(path)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    slices = np.array_split(np.abs(frames.astype(np.int32)).max(axis=1), n)
    return [round(100 * int(s.max()) / 32768) for s in slices]


def contract_sections(understood: dict) -> list[dict]:
    """The composer's own sections, with test lyric lines under verse and chorus."""
    return [
        {"name": s["name"], "start": s["start"], "end": s["end"],
         "lines": LINES.get(s["name"], [])}
        for s in understood["sections"]
    ]


def serve_fields(page, extra: dict, *, replace: bool = False, drop: tuple = ()) -> None:
    def fill_in(route):
        response = route.fetch()
        data = response.json()
        views = data["jobs"] if isinstance(data, dict) and "jobs" in data else [data]
        for view in views:
            if view.get("job_id") not in extra:
                continue
            for name in drop:
                view.pop(name, None)
            for name, value in extra[view["job_id"]].items():
                if replace:
                    view[name] = value
                else:
                    view.setdefault(name, value)
        route.fulfill(response=response, body=json.dumps(data))

    page.route(re.compile(r".*/api/jobs(/[A-Za-z0-9_-]+)?(\?.*)?$"), fill_in)


@pytest.fixture
def song(live_api, worker_pool, settings, jobs, storage_root, open_page):
    """A page at 1280 px holding one finished composer song, drawn from the contract's JSON."""
    page = composer_song(worker_pool, open_page, live_api.url, PROMPT)
    job_id = card(page).get_attribute("data-job-id")
    path = storage_root / "audio" / f"{job_id}.wav"
    understood = jobs.get(job_id)["understood"]
    understood = {**understood, "key": f"{understood['key']} {understood['mode']}",
                  "bpm": round(understood["tempo"]), "meter": "4/4",
                  "sections": contract_sections(understood)}
    added = {"peaks": peaks_of(path), "size_bytes": path.stat().st_size, "format": "wav"}
    jobs.update(job_id, understood=understood, **added)
    serve_fields(page, {job_id: added})
    page.reload()
    expect()(card(page)).to_have_attribute("data-peaks", "1")
    page.sections = understood["sections"]
    page.size_bytes = added["size_bytes"]
    return page


def wave_pixels(page) -> int:
    return page.locator("canvas.wave").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
    )


def test_waveform_is_drawn_and_a_click_seeks(song):
    page = song
    canvas = page.locator("canvas.wave")
    expect()(canvas).to_have_attribute("aria-label", re.compile("^Waveform of Heavy rock anthem"))
    size = canvas.evaluate("c => [c.width, c.height]")
    assert size[0] >= 600 and size[1] > 0
    assert wave_pixels(page) > size[0] * size[1] * 0.05  # bars, not a blank canvas

    audio = card(page).locator("audio")
    audio.evaluate("a => a.readyState >= 1 || new Promise(ok =>"
                   " a.addEventListener('loadedmetadata', ok, {once: true}))")
    duration = audio.evaluate("a => a.duration")
    assert duration == pytest.approx(30.0, abs=0.01)
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * 0.5, "y": box["height"] / 2})
    page.wait_for_function("a => !a.seeking", arg=audio.element_handle())
    assert audio.evaluate("a => a.currentTime") == pytest.approx(duration / 2, abs=0.3)
    # The play position is drawn there: the left half is in the played colour.
    head = card(page).locator(".playhead").evaluate("p => parseFloat(p.style.left)")
    assert head == pytest.approx(50, abs=1)
    expect()(canvas).to_have_attribute("aria-valuetext", "0:15 of 0:30")

    # Keyboard: arrows move 5 s, Home goes to the start.
    canvas.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("a => !a.seeking", arg=audio.element_handle())
    assert audio.evaluate("a => a.currentTime") == pytest.approx(duration / 2 + 5, abs=0.3)
    page.keyboard.press("Home")
    expect()(canvas).to_have_attribute("aria-valuenow", "0")
    assert page.errors == []


def test_section_strip_and_details(song):
    page = song
    job = card(page)
    names = job.locator(".sections .section-name").all_inner_texts()
    assert names == [s["name"].capitalize() for s in page.sections]
    assert names[:3] == ["Intro", "Verse", "Chorus"]
    chorus = job.locator(".section", has_text="Chorus").first
    assert chorus.locator(".lines li").all_inner_texts() == LINES["chorus"]
    assert job.locator(".section[data-name=intro] .lines").count() == 0
    # On the waveform's time axis: the chorus starts where the composer put it.
    wave_box = job.locator("canvas.wave").bounding_box()
    chorus_box = chorus.bounding_box()
    start = page.sections[2]["start"] / 30.0
    assert chorus_box["x"] - wave_box["x"] == pytest.approx(start * wave_box["width"], abs=4)

    details = job.locator("details.track-details")
    expect()(details).not_to_have_attribute("open", "")
    expect()(details.locator("dl")).to_be_hidden()
    details.locator("summary").click()
    text = details.locator("dl").inner_text()
    assert re.search(r"Music\s+[A-G][#b]? (major|minor), \d+ bpm, 4/4", text), text
    assert f"WAV, {page.size_bytes / 1e6:.1f} MB, 0:30" in text
    assert text.count("Seed") == 1 and "composer (composer-2)" in text
    assert "{" not in text and "Form" not in text  # no raw JSON, the form is drawn
    assert job.locator("table").count() == 0
    expect()(job.get_by_role("link", name="Download WAV")).to_have_attribute(
        "download", re.compile(r"music_.+\.wav"))


def test_screenshots_at_desktop_and_phone_width(song, tmp_path):
    page = song
    shots = README_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    card(page).locator("details.track-details summary").click()
    page.locator("#advanced summary").click()
    page.get_by_label("Prompt").fill(PROMPT)
    page.get_by_label("Lyrics").fill("[verse]\n" + "\n".join(LINES["verse"])
                                     + "\n[chorus]\n" + "\n".join(LINES["chorus"]))
    page.get_by_label("Tempo").fill("163")
    page.get_by_label("Key", exact=True).select_option("D minor")
    # Part-way through, so the played part of the waveform shows in its colour.
    wave = card(page).locator("canvas.wave")
    box = wave.bounding_box()
    wave.click(position={"x": box["width"] * 0.4, "y": box["height"] / 2})
    page.evaluate("document.activeElement.blur()")
    page.screenshot(path=str(shots / "desktop.png"), full_page=True)

    page.set_viewport_size({"width": 375, "height": 812})
    page.wait_for_function("() => document.querySelector('canvas.wave').width <= 375 * 2")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert wave_pixels(page) > 0
    page.screenshot(path=str(shots / "phone.png"), full_page=True)
    for name in ("desktop.png", "phone.png"):
        assert (shots / name).stat().st_size < 300_000


def test_without_peaks_or_sections_the_card_is_the_player(live_api, worker, open_page):
    """A job without peaks or sections (an old record; the fixed engine reports no
    sections): the card is just the player.

    Peaks are dropped and format and size served as an mp3 job's would be, to check
    the card's words and the download name; the bytes behind it stay the WAV.
    """
    page = open_page(live_api.url, width=375, height=812)
    page.goto("/")
    submit(page, "Chill lo-fi hip hop beat with vinyl crackle")
    expect()(card(page)).to_have_attribute("data-status", "finished", timeout=30000)
    job_id = card(page).get_attribute("data-job-id")
    serve_fields(page, {job_id: {"format": "mp3", "size_bytes": 1_234_567}}, replace=True,
                 drop=("peaks",))
    page.reload()
    job = card(page)
    expect()(job.locator("audio")).to_be_visible()
    expect()(job.locator("canvas")).to_have_count(0)
    expect()(job.locator(".sections, .playhead")).to_have_count(0)
    link = job.get_by_role("link", name="Download MP3")
    expect()(link).to_have_attribute("download", f"music_{job_id}.mp3")
    job.locator("details.track-details summary").click()
    expect()(job.locator(".understood")).to_contain_text("MP3, 1.2 MB, 0:30")
    expect()(job.locator(".understood")).not_to_contain_text("Music")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.errors == []
