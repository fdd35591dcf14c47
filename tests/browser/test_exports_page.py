"""The MIDI and Stems switches in Advanced, and the export links on a finished track's card."""

from __future__ import annotations

import io
import zipfile

import mido
import pytest

from tests.browser.pagekit import card, expect, submit
from tests.browser.test_advanced_form import PROMPT, open_form

pytestmark = pytest.mark.browser


def test_the_switches_send_exports(live_api, no_worker, open_page):
    page, bodies = open_form(live_api, open_page)
    page.locator("#advanced summary").click()
    midi, stems = page.get_by_role("switch", name="MIDI"), page.get_by_role("switch", name="Stems")
    expect()(midi).not_to_be_checked()
    expect()(stems).not_to_be_checked()
    page.get_by_role("button", name="Generate").click()
    midi.check()
    page.get_by_role("button", name="Generate").click()
    stems.check()
    page.get_by_role("button", name="Generate").click()
    expect()(page.locator("#job-list > li")).to_have_count(3)
    assert bodies == [
        {"prompt": PROMPT, "duration": 60},  # both off: nothing sent
        {"prompt": PROMPT, "duration": 60, "exports": ["midi"]},
        {"prompt": PROMPT, "duration": 60, "exports": ["midi", "stems"]},
    ]


def test_the_card_links_the_exports(live_api, worker_pool, encode_worker, open_page):
    worker_pool.ensure(ENGINE="composer")
    page = open_page(live_api.url, width=1280)
    page.goto("/")
    page.locator("#advanced summary").click()
    page.get_by_role("switch", name="MIDI").check()
    page.get_by_role("switch", name="Stems").check()
    submit(page, "jazz trio with walking bass")
    expect()(card(page)).to_have_attribute("data-status", "finished", timeout=120000)
    job_id = card(page).get_attribute("data-job-id")

    midi = card(page).get_by_role("link", name="Download MIDI")
    expect()(midi).to_have_attribute("href", f"/api/audio/{job_id}/midi")
    expect()(midi).to_have_attribute("download", f"music_{job_id}.mid")
    stems = card(page).get_by_role("link", name="Download stems")
    expect()(stems).to_have_attribute("download", f"music_{job_id}_stems.zip")
    # The links work with the page's own session cookie.
    got = page.request.get(live_api.url + f"/api/audio/{job_id}/midi")
    assert got.status == 200 and got.headers["content-type"] == "audio/midi"
    assert mido.MidiFile(file=io.BytesIO(got.body())).type == 1
    with page.expect_download() as download:
        stems.click()
    assert download.value.suggested_filename == f"music_{job_id}_stems.zip"
    with zipfile.ZipFile(download.value.path()) as zf:
        assert "stems.json" in zf.namelist()


def test_the_card_says_why_an_export_is_unavailable(live_api, worker, no_encoder, open_page):
    page = open_page(live_api.url)
    page.goto("/")
    page.locator("#advanced summary").click()
    page.get_by_role("switch", name="Stems").check()
    submit(page, "calm piano")
    expect()(card(page)).to_have_attribute("data-status", "finished", timeout=60000)
    note = card(page).locator("[data-export=stems]")
    expect()(note).to_contain_text("Stems unavailable: the fixed engine renders a finished mix")
    expect()(card(page).get_by_role("link", name="Download stems")).to_have_count(0)
    expect()(card(page).get_by_role("link", name="Download WAV")).to_be_visible()
