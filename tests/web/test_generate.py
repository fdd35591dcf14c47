"""POST /api/generate: the contract's validation and responses."""

from __future__ import annotations

import json

import pytest
import redis

GOOD = {"prompt": "Relaxing piano music with gentle rain sounds", "duration": 60}


def post(client, body, **kwargs):
    return client.post("/api/generate", json=body, **kwargs)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 422, "prompt is required"),
        ({"prompt": "   "}, 422, "must not be empty"),
        ({"prompt": 42}, 422, "string"),
        ({"prompt": "x" * 501}, 422, "at most 500"),
        ({"prompt": "jazz", "duration": 45}, 400, "30, 60 or 120"),
        ({"prompt": "jazz", "duration": "60"}, 400, "30, 60 or 120"),
        ({"prompt": "jazz", "duration": 60.5}, 400, "30, 60 or 120"),
        ({"prompt": "jazz", "duration": True}, 400, "30, 60 or 120"),
        ({"prompt": "jazz", "genre": "g" * 51}, 422, "genre"),
        ({"prompt": "jazz", "genre": 7}, 422, "genre"),
        ({"prompt": "jazz", "seed": -1}, 422, "seed"),
        ({"prompt": "jazz", "seed": 2**31}, 422, "seed"),
        ({"prompt": "jazz", "seed": "7"}, 422, "seed"),
        ({"prompt": "jazz", "tempo": 120}, 422, "Unknown field(s): tempo"),
    ],
)
def test_invalid_bodies(client, jobs, body, status, words):
    r = post(client, body)
    assert r.status_code == status, r.get_json()
    assert words in r.get_json()["detail"]
    assert jobs.queue_depth() == 0  # nothing was queued


def test_prompt_of_500_chars_after_trimming_is_accepted(client):
    r = post(client, {"prompt": "  " + "a" * 500 + "  "})
    assert r.status_code == 202


def test_wrong_content_type_is_415(client):
    r = client.post(
        "/api/generate", data="prompt=jazz", content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code == 415
    assert r.get_json() == {"detail": "Content-Type must be application/json"}


@pytest.mark.parametrize("raw", ["{not json", "", "[1, 2]", "null", '"jazz"'])
def test_malformed_or_non_object_json_is_400(client, raw):
    r = client.post("/api/generate", data=raw, content_type="application/json")
    assert r.status_code == 400
    assert r.get_json()["detail"] in ("Malformed JSON body", "Request body must be a JSON object")


def test_body_over_16_kib_is_413(client):
    r = client.post(
        "/api/generate", data=json.dumps({"prompt": "x" * 17000}), content_type="application/json"
    )
    assert r.status_code == 413
    assert "too large" in r.get_json()["detail"]


def test_accepted_job_defaults_and_record(client, jobs, no_worker):
    r = post(client, {"prompt": "  Upbeat electronic dance music  ", "genre": None})
    assert r.status_code == 202
    body = r.get_json()
    assert set(body) >= {"job_id", "status", "estimated_wait", "queue_position"}
    assert len(body["job_id"]) == 12
    job = client.get(f"/api/jobs/{body['job_id']}").get_json()
    assert job["prompt"] == "Upbeat electronic dance music"
    assert job["duration"] == 60  # the default
    assert job["genre"] is None
    assert 0 <= job["seed"] <= 2**31 - 1  # chosen at submit so the user sees it
    assert job["status"] == "queued" and job["queue_position"] == 1
    assert jobs.get(body["job_id"])["owner"]  # the session's owner id, not the cookie


def test_explicit_seed_is_kept(client):
    r = post(client, {"prompt": "folk ballad", "duration": 30, "seed": 1234})
    assert r.get_json()["seed"] == 1234
    assert client.get(f"/api/jobs/{r.get_json()['job_id']}").get_json()["seed"] == 1234


def test_queue_position_and_estimated_wait_grow_with_the_queue(client, jobs, settings, no_worker):
    # No worker runs here, so every job stays queued.
    waits, positions = [], []
    for _ in range(3):
        body = post(client, {"prompt": "ambient drone", "duration": 120}).get_json()
        waits.append(body["estimated_wait"])
        positions.append(body["queue_position"])
    assert positions == [1, 2, 3]
    per_job = 120 * settings.default_seconds_per_audio_second
    assert waits == [round(per_job * n) for n in (1, 2, 3)]


def test_estimated_wait_uses_run_time_history_and_live_workers(client, jobs, no_worker):
    for seconds in (4.0, 6.0):
        jobs.record_runtime(30, seconds)  # mean 5 s for 30 s jobs
    post(client, {"prompt": "a", "duration": 30})
    assert post(client, {"prompt": "b", "duration": 30}).get_json()["estimated_wait"] == 10
    jobs.heartbeat("w1@host")
    jobs.heartbeat("w2@host")  # two live workers share the queue ahead
    assert post(client, {"prompt": "c", "duration": 30}).get_json()["estimated_wait"] == 10
    # ahead: 2 jobs x 5 s / 2 workers = 5, plus its own 5 s


def test_broker_failure_leaves_no_job_behind(client, jobs, settings):
    # The job's message goes out in the script that records it (tasks/jobs/message.py):
    # a broker list that refuses it (here: not a list) must leave nothing behind.
    broker = redis.Redis.from_url(settings.redis_url_for("broker"))
    broker.set("music", "not a list")
    try:
        r = post(client, GOOD)
    finally:
        broker.delete("music")
    assert r.status_code == 503
    assert "queue is unavailable" in r.get_json()["detail"]
    assert int(r.headers["Retry-After"]) >= 5
    assert client.get("/api/jobs").get_json()["total"] == 0
    assert jobs.queue_depth() == 0
