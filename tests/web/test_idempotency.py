"""Idempotency-Key on POST /api/generate: replays, mismatches, claims in progress, concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.web.test_api_keys import bearer, new_key


def _app(make_settings, **overrides):
    from web import create_app

    return create_app(make_settings(**overrides))


def _post(client, key, body=None, **headers):
    return client.post("/api/generate", json=body or {"prompt": "same", "duration": 30},
                       headers={"Idempotency-Key": key, **headers})


def test_same_key_same_body_replays_the_first_answer_outside_the_limits(make_settings,
                                                                         no_worker):
    app = _app(make_settings, rate_limit_session="1/minute")
    client = app.test_client()
    first = _post(client, "order-1")
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    # Same JSON object spelled differently: still the same body.
    again = client.post("/api/generate", data='{"duration":30,  "prompt":"same"}',
                        content_type="application/json", headers={"Idempotency-Key": "order-1"})
    assert again.status_code == 202  # not 429: a replay is not counted
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert client.get("/api/jobs").get_json()["total"] == 1
    assert _post(client, "order-2").status_code == 429  # a new key is a new request
    other_session = app.test_client()  # keys are scoped to the caller
    other = _post(other_session, "order-1")
    assert other.status_code == 202 and other.get_json()["job_id"] != first.get_json()["job_id"]


def test_a_different_body_is_422_and_bad_keys_are_400(client, no_worker):
    assert _post(client, "k:1").status_code == 202
    r = _post(client, "k:1", {"prompt": "another", "duration": 30})
    assert r.status_code == 422 and "different request body" in r.get_json()["detail"]
    for bad in ("", "x" * 256, "has space", "é", "a/b"):
        r = client.post("/api/generate", json={"prompt": "x"}, headers={"Idempotency-Key": bad})
        assert r.status_code == 400 and "Idempotency-Key" in r.get_json()["detail"], bad
    assert _post(client, "A" * 255).status_code == 202
    assert client.get("/api/jobs").get_json()["total"] == 2


def test_a_refused_submit_frees_its_key(make_settings, no_worker):
    app = _app(make_settings)
    key = new_key(app, "tiny", "--max-active", "1")
    client = app.test_client()
    first = _post(client, "a", Authorization=bearer(key)["Authorization"])
    assert first.status_code == 202
    refused = _post(client, "b", {"prompt": "second", "duration": 30},
                    Authorization=bearer(key)["Authorization"])
    assert refused.status_code == 429
    job_id = first.get_json()["job_id"]
    assert client.delete(f"/api/jobs/{job_id}", headers=bearer(key)).status_code == 204
    retried = _post(client, "b", {"prompt": "second", "duration": 30},
                    Authorization=bearer(key)["Authorization"])
    assert retried.status_code == 202 and "Idempotent-Replayed" not in retried.headers


def test_a_request_while_the_first_is_processed_is_409(app, no_worker, monkeypatch):
    import web.blueprints.generate as route

    key = new_key(app)
    auth = bearer(key)["Authorization"]
    entered, release = threading.Event(), threading.Event()
    real_submit = route.submit

    def slow_submit(*args, **kwargs):
        entered.set()
        release.wait(10)
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(route, "submit", slow_submit)
    answers = {}
    first = threading.Thread(
        target=lambda: answers.update(first=_post(app.test_client(), "slow", Authorization=auth)))
    first.start()
    assert entered.wait(10)
    during = _post(app.test_client(), "slow", Authorization=auth)
    assert during.status_code == 409 and during.headers["Retry-After"] == "1"
    release.set()
    first.join(10)
    assert answers["first"].status_code == 202
    after = _post(app.test_client(), "slow", Authorization=auth)
    assert after.headers["Idempotent-Replayed"] == "true"
    assert after.get_json()["job_id"] == answers["first"].get_json()["job_id"]


def test_twenty_concurrent_identical_submits_make_exactly_one_job(live_api, settings, no_worker):
    from tasks.config.services import client_store

    key = client_store(settings).create_key("burst")[0]
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "burst-1"}
    barrier = threading.Barrier(20)

    def submit(_):
        barrier.wait()
        return requests.post(f"{live_api.url}/api/generate", json={"prompt": "one", "duration": 30},
                             headers=headers, timeout=30)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(submit, range(20)))
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {202, 409}, codes
    fresh = [r for r in answers if r.status_code == 202 and "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 1
    job_id = fresh[0].json()["job_id"]
    assert all(r.json()["job_id"] == job_id for r in answers if r.status_code == 202)
    listed = requests.get(f"{live_api.url}/api/jobs", headers={"Authorization": f"Bearer {key}"},
                          timeout=10).json()
    assert [job["job_id"] for job in listed["jobs"]] == [job_id]
    late = requests.post(f"{live_api.url}/api/generate", json={"prompt": "one", "duration": 30},
                         headers=headers, timeout=30)
    assert late.status_code == 202 and late.headers["Idempotent-Replayed"] == "true"
