"""The guide's workflow end to end: submit -> poll -> download, with a real worker."""

from __future__ import annotations

import io
import wave

from tests.conftest import wait_status


def test_submit_poll_download(client, worker):
    r = client.post(
        "/api/generate",
        json={"prompt": "Smooth jazz with saxophone solo", "duration": 30, "genre": "jazz"},
    )
    assert r.status_code == 202
    body = r.get_json()
    assert body["status"] == "queued"
    assert isinstance(body["estimated_wait"], int) and body["estimated_wait"] > 0
    assert body["queue_position"] >= 1
    assert r.headers["Location"] == f"/api/jobs/{body['job_id']}"

    job = wait_status(client, body["job_id"])
    assert job["status"] == "finished", job
    assert job["audio_url"] == f"/api/audio/{body['job_id']}"
    assert job["engine"] == "fixed"
    for stamp in ("created_at", "enqueued_at", "started_at", "finished_at"):
        assert job[stamp].endswith("+00:00")

    audio = client.get(job["audio_url"])
    assert audio.status_code == 200
    assert audio.mimetype == "audio/wav"
    with wave.open(io.BytesIO(audio.data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 48000)
        assert w.getnframes() == 30 * 48000
    assert int(audio.headers["Content-Length"]) == len(audio.data) == 44 + 30 * 48000 * 4
