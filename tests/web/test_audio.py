"""GET /api/audio/{id}: streamed WAV with byte ranges."""

from __future__ import annotations

import io
import wave

import pytest

from tests.conftest import wait_status

WAV_BYTES = 44 + 30 * 48000 * 4


@pytest.fixture
def finished(client, worker):
    r = client.post("/api/generate", json={"prompt": "lo-fi beat", "duration": 30})
    job_id = r.get_json()["job_id"]
    assert wait_status(client, job_id)["status"] == "finished"
    return job_id


def test_whole_file(client, finished):
    r = client.get(f"/api/audio/{finished}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "audio/wav"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Disposition"] == f'attachment; filename="music_{finished}.wav"'
    assert int(r.headers["Content-Length"]) == WAV_BYTES == len(r.data)
    with wave.open(io.BytesIO(r.data)) as w:
        assert w.getparams()[:4] == (2, 2, 48000, 30 * 48000)
        frames = w.readframes(48000)
    assert any(frames)  # not silence


def test_byte_ranges(client, finished):
    whole = client.get(f"/api/audio/{finished}").data
    cases = {
        "bytes=0-43": (0, 44),
        "bytes=1000-1999": (1000, 2000),
        "bytes=-100": (WAV_BYTES - 100, WAV_BYTES),
        f"bytes={WAV_BYTES - 10}-": (WAV_BYTES - 10, WAV_BYTES),
        f"bytes=5-{WAV_BYTES + 500}": (5, WAV_BYTES),
    }
    for header, (start, end) in cases.items():
        r = client.get(f"/api/audio/{finished}", headers={"Range": header})
        assert r.status_code == 206, header
        assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{WAV_BYTES}"
        assert int(r.headers["Content-Length"]) == end - start
        assert r.data == whole[start:end]
    assert whole[:4] == b"RIFF" and whole[8:12] == b"WAVE"


def test_unsatisfiable_range_is_416(client, finished):
    r = client.get(f"/api/audio/{finished}", headers={"Range": f"bytes={WAV_BYTES}-"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{WAV_BYTES}"
    assert "not satisfiable" in r.get_json()["detail"]


def test_multi_range_or_garbage_gets_the_whole_file(client, finished):
    for header in ("bytes=0-1,5-9", "pages=1-2", "bytes=abc"):
        r = client.get(f"/api/audio/{finished}", headers={"Range": header})
        assert r.status_code == 200 and len(r.data) == WAV_BYTES, header


def test_not_finished_is_404_saying_so(client, no_worker):
    job_id = client.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    r = client.get(f"/api/audio/{job_id}")
    assert r.status_code == 404
    assert r.get_json() == {"detail": "Audio not ready: the job is queued"}


def test_missing_object_is_404(client, finished, storage_root):
    (storage_root / "audio" / f"{finished}.wav").unlink()
    r = client.get(f"/api/audio/{finished}")
    assert r.status_code == 404 and "missing" in r.get_json()["detail"]
