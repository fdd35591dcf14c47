"""The API guide's own Python and curl examples, run unchanged against a live server."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import wave

import pytest

from tests.support.services import ROOT

GUIDE = ROOT.parent / "shared" / "API_GUIDE.md"


def example(language: str, marker: str) -> str:
    if not GUIDE.exists():
        pytest.skip(f"{GUIDE} not found (the guide lives beside the repository)")
    blocks = re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), flags=re.S)
    return next(b for b in blocks if marker in b)


def check_wav(path, seconds: int) -> None:
    with wave.open(str(path)) as w:
        assert w.getparams()[:4] == (2, 2, 48000, seconds * 48000)


def test_python_example(live_api, worker, tmp_path):
    code = example("python", "requests.Session()")
    code = code.replace('BASE_URL = "https://your-deployed-api.com"',
                        f'BASE_URL = "{live_api.url}"')
    assert live_api.url in code  # the only change
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Generation complete!" in out.stdout
    check_wav(tmp_path / "generated_music.wav", 60)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_curl_example(live_api, worker, tmp_path):
    script = example("bash", "#!/bin/bash")
    script = script.replace('BASE_URL="https://your-deployed-api.com"',
                            f'BASE_URL="{live_api.url}"')
    assert live_api.url in script
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Generation complete!" in out.stdout
    check_wav(tmp_path / "generated_music.wav", 60)
