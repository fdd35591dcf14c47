"""The guide's JavaScript example, unchanged but for BASE_URL, in a real browser."""

from __future__ import annotations

import io
import re
import wave

import pytest

from tests.support.services import ROOT

GUIDE = ROOT.parent / "shared" / "API_GUIDE.md"


@pytest.mark.browser
def test_javascript_example_generates_and_downloads(open_page, live_api, worker):
    if not GUIDE.exists():
        pytest.skip(f"{GUIDE} not found (the guide lives beside the repository)")
    blocks = re.findall(r"```javascript\n(.*?)```", GUIDE.read_text(), flags=re.S)
    code = next(b for b in blocks if "async function generateMusic" in b)
    code = code.replace(
        'const BASE_URL = "https://your-deployed-api.com";', f'const BASE_URL = "{live_api.url}";'
    )
    assert live_api.url in code

    page = open_page(live_api.url)
    page.goto("/health")  # same origin as the API, so the session cookie is kept
    with page.expect_download(timeout=90_000) as download_info:
        page.add_script_tag(content=code)  # its last lines run generateMusic + downloadAudio
    download = download_info.value
    assert re.fullmatch(r"music_[A-Za-z0-9_-]+\.wav", download.suggested_filename)
    data = open(download.path(), "rb").read()
    with wave.open(io.BytesIO(data)) as w:
        assert w.getparams()[:4] == (2, 2, 48000, 60 * 48000)
    assert not [e for e in page.errors if "Error" in e], page.errors
