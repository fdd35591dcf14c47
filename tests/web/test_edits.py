"""Edits of a finished job (extend, repaint, cover) through the API and send_task,
on a real worker running the composer: the source checks, the lengths, the
segments, and the kept audio being the source's own samples."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import wait_status

SR = 48_000


@pytest.fixture
def composer(worker_pool, settings):
    return worker_pool.ensure(ENGINE="composer")


def _finished(client, body: dict) -> dict:
    r = client.post("/api/generate", json=body)
    assert r.status_code == 202, r.get_json()
    job = wait_status(client, r.get_json()["job_id"], timeout=120)
    assert job["status"] == "finished", job
    return job


def _pcm(client, job) -> np.ndarray:
    body = client.get(job["audio_url"]).data
    pcm, rate = sf.read(io.BytesIO(body), dtype="int16", always_2d=True)
    assert rate == SR
    return pcm


def _kept_match(source: np.ndarray, result: np.ndarray, segments: list[dict]) -> None:
    for seg in segments:
        a, b = round(seg["start"] * SR), round(seg["end"] * SR)
        if seg["kind"] == "kept":
            assert np.array_equal(result[a:b], source[a:b]), seg
        else:
            assert not np.array_equal(result[a:b], source[a:b]), seg


SOURCE = {"prompt": "upbeat pop with piano and drums", "duration": 30, "seed": 11}


def test_extend_repaint_cover_keep_the_source_samples(composer, client):
    source = _finished(client, SOURCE)
    src = _pcm(client, source)

    ext = _finished(client, {"task": "extend", "source_job": source["job_id"],
                             "extend_from": 24, "extend_by": 30, "seed": 2})
    assert (ext["task"], ext["source_job"], ext["duration"]) == ("extend", source["job_id"], 54)
    assert ext["segments"] == [{"start": 0.0, "end": 24.0, "kind": "kept"},
                               {"start": 24.0, "end": 54.0, "kind": "new"}]
    assert ext["prompt"] == SOURCE["prompt"] and ext["seed"] == 2
    out = _pcm(client, ext)
    assert out.shape == (54 * SR, 2)
    _kept_match(src, out, ext["segments"])
    # A real ending: the last bars still sound (no long fade to silence).
    tail = np.abs(out[-3 * SR: -SR].astype(np.float64)).mean()
    body = np.abs(out[30 * SR: 50 * SR].astype(np.float64)).mean()
    assert tail > 0.2 * body, (tail, body)

    rep = _finished(client, {"task": "repaint", "source_job": source["job_id"],
                             "start": 5.2, "end": 12.1, "seed": 3})
    assert rep["duration"] == 30 and rep["strength"] == 0.5
    # Snapped outward to bar lines, and the segments say so.
    snapped = rep["snapped"]
    assert snapped["start"] <= 5.2 and snapped["end"] >= 12.1
    assert [s["kind"] for s in rep["segments"]] == ["kept", "new", "kept"]
    assert rep["segments"][1] == {**snapped, "kind": "new"}
    _kept_match(src, _pcm(client, rep), rep["segments"])

    cov = _finished(client, {"task": "cover", "source_job": source["job_id"],
                             "prompt": "smooth jazz with saxophone", "strength": 0.3})
    assert cov["duration"] == 30 and cov["segments"] == [
        {"start": 0.0, "end": 30.0, "kind": "new"}]
    assert "saxophone" in cov["understood"]["instruments"]
    assert _pcm(client, cov).shape == (30 * SR, 2)


def test_same_fields_and_seed_give_the_same_bytes(composer, client):
    source = _finished(client, SOURCE)
    body = {"task": "repaint", "source_job": source["job_id"], "start": 8, "end": 16,
            "seed": 9, "strength": 0.2}
    first, second = _finished(client, body), _finished(client, body)
    assert client.get(first["audio_url"]).data == client.get(second["audio_url"]).data
    other = _finished(client, {**body, "seed": 10})
    assert client.get(other["audio_url"]).data != client.get(first["audio_url"]).data


def test_a_lossy_composer_source_is_re_created_not_decoded(composer, encode_worker, client,
                                                          storage_root, jobs):
    from inference.composer import ComposerEngine
    from inference.edit import PCM_SCALE, as_written

    source = _finished(client, {**SOURCE, "format": "mp3"})
    # The composer stores no master for a lossy job: it re-renders the same samples.
    assert jobs.get(source["job_id"])["master"] == "recreate"
    assert [p.suffix for p in (storage_root / "audio").glob(f"{source['job_id']}.*")] == [".mp3"]
    rendered = as_written(ComposerEngine().generate(**SOURCE))
    master = np.round(rendered * PCM_SCALE).astype(np.int16)
    ext = _finished(client, {"task": "extend", "source_job": source["job_id"], "format": "wav",
                             "extend_by": 30})
    # By default the outro is replaced by the continuation.
    last = source["understood"]["sections"][-1]
    assert last["name"] == "outro"
    cut = int(last["start"])
    assert ext["duration"] == cut + 30 and ext["segments"][0]["end"] == cut
    _kept_match(master, _pcm(client, ext), ext["segments"])


def test_send_task_edits_too(composer, client, jobs):
    from tasks import app

    source = _finished(client, SOURCE)
    result = app.send_task("music.generate", kwargs={
        "task": "repaint", "source_job": source["job_id"], "start": 4, "end": 10, "seed": 1})
    assert result.get(timeout=120)["duration"] == 30
    record = wait_status(jobs, result.id)
    assert record["status"] == "finished" and record["owner"] == "batch"
    assert record["segments"][1]["kind"] == "new"
    bad = app.send_task("music.generate", kwargs={
        "task": "extend", "source_job": "nosuchjob123"})
    assert wait_status(jobs, bad.id)["error"] == "invalid input: Job not found"


# --- the source checks, without rendering anything ---------------------------

def _owner(client, jobs) -> str:
    r = client.post("/api/generate", json={"prompt": "warm-up"})
    return jobs.get(r.get_json()["job_id"])["owner"]


def _source(jobs, owner: str, job_id: str = "src0000001", **fields) -> str:
    record = {"prompt": "a tune", "duration": 30, "seed": 1, "format": "wav", **fields}
    status = record.pop("status", "finished")
    jobs.create(job_id, owner, record, queued=False)
    jobs.update(job_id, status=status, engine=record.get("engine", "composer"),
                model=record.get("model", "composer-2"),
                master=record.get("master", f"audio/{job_id}.wav"))
    return job_id


@pytest.mark.parametrize(("fields", "status", "words"), [
    ({"status": "started"}, 409, "source_job is started: only a finished job can be edited"),
    ({"expired": "1"}, 410, "expired"),
    ({"engine": "fixed", "model": "fixed-200ms"}, 409, "fixed engine, which has no edit"),
    ({"model": "composer-1"}, 409, "composer composer-1"),
    ({"task": "cover"}, 409, "edit the original"),
    ({"master": ""}, 409, "no lossless master"),
])
def test_sources_that_cannot_be_edited(client, jobs, no_worker, fields, status, words):
    source = _source(jobs, _owner(client, jobs), **fields)
    r = client.post("/api/generate", json={"task": "extend", "source_job": source})
    assert r.status_code == status, r.get_json()
    assert words in r.get_json()["detail"]


def test_unknown_and_foreign_sources_answer_as_the_job_routes(app, client, jobs, no_worker):
    _owner(client, jobs)
    for job_id in ("nosuchjob123", "bad id!"):
        r = client.post("/api/generate", json={"task": "extend", "source_job": job_id})
        assert (r.status_code, r.get_json()) == (404, {"detail": "Job not found"})
    foreign = _source(jobs, "someone-else")
    r = client.post("/api/generate", json={"task": "cover", "source_job": foreign,
                                           "prompt": "jazz"})
    assert r.status_code == 403
    assert r.get_json() == client.get(f"/api/jobs/{foreign}").get_json()
    # No session at all owns nothing either.
    fresh = app.test_client()
    assert fresh.post("/api/generate", json={"task": "extend",
                                             "source_job": foreign}).status_code == 403


@pytest.mark.parametrize(("body", "words"), [
    ({"task": "extend", "bpm": 100}, "extend keeps the source's tempo, key and meter"),
    ({"task": "extend", "key": "C major"}, "leave out key"),
    ({"task": "extend", "extend_by": 45}, "extend_by must be 30 or 60"),
    ({"task": "extend", "extend_from": 31}, "extend_from must be within the source"),
    ({"task": "extend", "duration": 60}, "duration cannot be set for task extend"),
    ({"task": "repaint", "start": 1, "end": 3}, "end - start must be 3 to 90"),
    ({"task": "repaint", "start": 0, "end": 91}, "end - start must be 3 to 90"),
    ({"task": "repaint", "start": 25, "end": 31}, "inside the source (0 to 30 s)"),
    ({"task": "repaint", "start": 5}, "repaint needs start and end"),
    ({"task": "repaint", "start": 5, "end": 10, "extend_by": 30},
     "extend_by applies only to task extend"),
    ({"task": "cover"}, "prompt is required for task cover"),
    ({"task": "cover", "prompt": "x", "strength": 1.5}, "strength must be a number from 0 to 1"),
    ({"task": "text2music", "prompt": "x"}, "source_job applies only to task"),
    ({"task": "remix"}, "task must be one of text2music, extend, repaint, cover"),
])
def test_bad_edit_fields_answer_422(client, jobs, no_worker, body, words):
    source = _source(jobs, _owner(client, jobs))
    r = client.post("/api/generate", json={"source_job": source, **body})
    assert r.status_code == 422, r.get_json()
    assert words in r.get_json()["detail"]


def test_an_extension_is_at_most_240_seconds(client, jobs, no_worker):
    source = _source(jobs, _owner(client, jobs), duration=200, engine="acestep",
                     model="acestep-v15-turbo", task="extend")
    r = client.post("/api/generate", json={"task": "extend", "source_job": source,
                                           "extend_by": 60})
    assert r.status_code == 422
    assert "at most 240 s: extend_from 200 + extend_by 60 = 260" in r.get_json()["detail"]
    ok = client.post("/api/generate", json={"task": "extend", "source_job": source,
                                            "extend_from": 180, "extend_by": 60})
    assert ok.status_code == 202


def test_an_edit_inherits_the_sources_fields_and_scales_its_estimate(client, jobs, no_worker,
                                                                    settings):
    source = _source(jobs, _owner(client, jobs), prompt="calm folk", bpm=90, key="D major",
                     lyrics="[verse]\nla la", instrumental=False, vocal_language="en",
                     format="flac")
    r = client.post("/api/generate", json={"task": "extend", "source_job": source,
                                           "extend_from": 20, "extend_by": 60})
    assert r.status_code == 202
    job = client.get(f"/api/jobs/{r.get_json()['job_id']}").get_json()
    assert (job["prompt"], job["lyrics"], job["format"], job["duration"]) == (
        "calm folk", "[verse]\nla la", "flac", 80)
    assert job["seed"] != 1  # a new seed unless given
    assert "bpm" not in job and "key" not in job  # an extension keeps the source's frame
    # The estimate counts this result's length (default speed: no history yet).
    assert r.get_json()["estimated_wait"] >= 80 * settings.default_seconds_per_audio_second
    cover = client.post("/api/generate", json={"task": "cover", "source_job": source,
                                               "prompt": "jazz", "instrumental": True})
    view = client.get(f"/api/jobs/{cover.get_json()['job_id']}").get_json()
    assert view["instrumental"] is True and "lyrics" not in view and view["bpm"] == 90


def test_a_plain_job_is_as_before(client, jobs, no_worker):
    r = client.post("/api/generate", json={"prompt": "a tune", "duration": 30})
    job_id = r.get_json()["job_id"]
    record = jobs.get(job_id)
    assert "task" not in record and "segments" not in record
    view = client.get(f"/api/jobs/{job_id}").get_json()
    assert view["task"] == "text2music" and "segments" not in view


def test_time_limits_scale_with_the_results_length(client, jobs, no_worker, settings):
    import json

    import redis

    source = _source(jobs, _owner(client, jobs), duration=120, engine="acestep",
                     model="tiny")
    r = client.post("/api/generate", json={"task": "extend", "source_job": source,
                                           "extend_from": 100, "extend_by": 60})
    job_id = r.get_json()["job_id"]
    broker = redis.Redis.from_url(settings.redis_url_for("broker"))
    limits = None
    for key in broker.scan_iter("music*"):
        if broker.type(key) != b"list":
            continue
        for raw in broker.lrange(key, 0, -1):
            message = json.loads(raw)
            if message["headers"]["id"] == job_id:
                limits = message["headers"]["timelimit"]
                # the message holds the edit's fields, not a duration
                assert "duration" not in message["headers"]["kwargsrepr"]
    assert limits == [settings.time_limits(160)[1], settings.time_limits(160)[0]]
    assert jobs.get(job_id)["duration"] == 160


def test_a_worker_whose_engine_cannot_edit_fails_the_job_clearly(client, jobs, worker):
    source = _source(jobs, _owner(client, jobs))
    r = client.post("/api/generate", json={"task": "cover", "source_job": source,
                                           "prompt": "jazz"})
    job = wait_status(client, r.get_json()["job_id"])
    assert (job["status"], job["error"]) == ("failed", "the fixed engine cannot cover")
