"""The song fields through every entry point: the API, send_task kwargs and the job view."""

from __future__ import annotations

import os
import time

import pytest

from storage import audio_key
from tasks.config.services import audio_storage, job_store
from tasks.jobs.retention import purge
from tests.conftest import wait_status

OLD = 200 * 3600


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"bpm": 300}, "bpm must be an integer from 40 to 220"),
        ({"key": "X minor"}, "key must be a major or minor key"),
        ({"lyrics": "la", "instrumental": True}, "instrumental cannot be true when lyrics"),
        ({"time_signature": "7/8"}, "time_signature must be one of"),
        ({"format": "aac"}, "format must be one of wav, flac, mp3, opus"),
        ({"vocal_language": "xx"}, "vocal_language must be one of"),
        ({"lyrics": "[solo]\nla"}, "lyrics has an unknown section tag [solo]"),
        ({"tempo": 120}, "Unknown field(s): tempo"),
    ],
)
def test_api_answers_422_naming_the_field(client, jobs, no_worker, body, words):
    r = client.post("/api/generate", json={"prompt": "a song", **body})
    assert r.status_code == 422
    assert words in r.get_json()["detail"]
    assert client.get("/api/jobs").get_json()["total"] == 0


def test_job_view_shows_the_resolved_fields(client, no_worker):
    r = client.post("/api/generate", json={
        "prompt": "a song", "lyrics": "[verse]\nhello\n[chorus]\nyeah", "bpm": 128.0,
        "key": "f# MINOR", "time_signature": "6/8", "format": "opus"})
    assert r.status_code == 202
    job = client.get(f"/api/jobs/{r.get_json()['job_id']}").get_json()
    assert {k: job[k] for k in ("lyrics", "instrumental", "vocal_language", "bpm", "key",
                                "time_signature", "format")} == {
        "lyrics": "[verse]\nhello\n[chorus]\nyeah", "instrumental": False,
        "vocal_language": "en", "bpm": 128, "key": "F# minor", "time_signature": "6/8",
        "format": "opus"}
    plain = client.post("/api/generate", json={"prompt": "a tune"}).get_json()
    view = client.get(f"/api/jobs/{plain['job_id']}").get_json()
    assert view["format"] == "wav" and view["instrumental"] is True
    assert not {"lyrics", "vocal_language", "bpm", "key", "time_signature"} & set(view)
    listed = client.get("/api/jobs").get_json()["jobs"]
    assert {j["format"] for j in listed} == {"wav", "opus"}


def test_send_task_with_song_kwargs(worker, encode_worker, jobs, storage_root):
    from tasks import app

    result = app.send_task("music.generate", kwargs={
        "prompt": "waltz", "duration": 30, "lyrics": "[verse]\none two three",
        "key": "eb major", "bpm": 90, "time_signature": "3/4", "vocal_language": "de",
        "format": "flac"})
    assert result.get(timeout=60)["audio_key"] == f"audio/{result.id}.flac"
    record = wait_status(jobs, result.id)
    assert record["status"] == "finished" and record["owner"] == "batch"
    assert (record["key"], record["bpm"], record["instrumental"]) == ("Eb major", 90, False)
    # The (fixed) engine was handed every song field, normalised; not the format.
    assert record["understood"] == {"latency_ms": 200.0, "lyrics": "[verse]\none two three",
                                    "instrumental": False, "vocal_language": "de", "bpm": 90,
                                    "key": "Eb major", "time_signature": "3/4"}
    assert (storage_root / "audio" / f"{result.id}.flac").stat().st_size == record["size_bytes"]


def test_send_task_with_bad_song_kwargs_fails_the_job(worker, jobs):
    from tasks import app

    result = app.send_task("music.generate", kwargs={"prompt": "x", "bpm": 10})
    record = wait_status(jobs, result.id, ("failed",))
    assert record["error"] == "invalid input: bpm must be an integer from 40 to 220"


def test_retention_sweeps_every_format(client, jobs, settings, storage_root, no_worker, tmp_path):

    storage = audio_storage(settings)
    ids = []
    for fmt in ("mp3", "opus", "flac"):
        job_id = client.post("/api/generate", json={"prompt": "old", "duration": 30,
                                                    "format": fmt}).get_json()["job_id"]
        source = tmp_path / f"x.{fmt}"
        source.write_bytes(b"data")
        jobs.start(job_id, 3)
        storage.put_file(audio_key(job_id, fmt), source)
        assert jobs.finish(job_id, audio_key=audio_key(job_id, fmt), size_bytes=4) == "ok"
        assert client.get(f"/api/audio/{job_id}").status_code == 200
        path = storage_root / audio_key(job_id, fmt)
        os.utime(path, (time.time() - OLD, time.time() - OLD))
        ids.append(job_id)
    result = purge(job_store(settings), audio_storage(settings), settings)
    assert result["deleted"] >= 3 and result["errors"] == 0
    for job_id in ids:
        assert not list((storage_root / "audio").glob(f"{job_id}.*"))
        assert client.get(f"/api/jobs/{job_id}").get_json()["expired"] is True
