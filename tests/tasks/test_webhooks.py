"""Job webhooks end to end: a real `webhooks` worker (API image), real loopback receivers."""

from __future__ import annotations

import json
import os
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.images import image_env
from tests.support.receiver import Receiver
from tests.support.services import Worker, wait_for
from tests.web.test_api_keys import bearer, new_key, new_key_and_id

HOOK_ENV = {"WEBHOOK_ALLOW_HOSTS": "127.0.0.1", "WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3",
            "WEBHOOK_TIMEOUT_SECONDS": "1"}


@pytest.fixture(scope="module")
def hook_worker(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hooks")
    env = image_env("api", tmp / "packages", {**os.environ, **HOOK_ENV})
    worker = Worker(env, "hooks", tmp / "hooks.log", queues="webhooks", concurrency=2).start()
    yield worker
    worker.stop()


@pytest.fixture
def api(make_settings):
    from web import create_app

    return create_app(make_settings(webhook_allow_hosts=("127.0.0.1",)))


def _submit(client, key, url, **extra):
    r = client.post("/api/generate", json={"prompt": "hook me", "duration": 30, "webhook": url,
                                           **extra}, headers=bearer(key))
    assert r.status_code == 202, r.get_json()
    return r.get_json()["job_id"]


def _secret(client, key) -> str:
    return client.get("/api/webhooks/secret", headers=bearer(key)).get_json()["secret"]


def _block(client, key, job_id, wanted_state="delivered", event="completed"):
    def settled():
        view = client.get(f"/api/jobs/{job_id}", headers=bearer(key)).get_json()
        found = [d for d in view["webhook"]["deliveries"] if d["event"] == event]
        return view if found and found[0]["state"] == wanted_state else None

    return wait_for(settled, timeout=30, what=f"webhook {event} {wanted_state}")


def test_a_finished_job_is_signed_and_verified_with_standardwebhooks(api, worker, hook_worker):
    key = new_key(api)
    client = api.test_client()
    with Receiver() as receiver:
        job_id = _submit(client, key, receiver.url, webhook_events_filter=["started", "completed"])
        view = _block(client, key, job_id)
        assert view["status"] == "finished"
        wait_for(lambda: len(receiver.requests) == 2, what="two events")
    secret = _secret(client, key)
    events = [Webhook(secret).verify(r["body"], r["headers"]) for r in receiver.requests]
    assert [e["type"] for e in events] == ["job.started", "job.completed"]
    done = events[1]["data"]
    assert done["job_id"] == job_id and done["status"] == "finished"
    assert done["audio_url"] == f"http://localhost/api/audio/{job_id}"
    assert "webhook" not in done
    headers = receiver.requests[1]["headers"]
    assert headers["webhook-id"] == f"msg_{job_id}_completed"
    assert headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(receiver.requests[1]["body"] + b" ", headers)
    block = view["webhook"]
    assert block["url"] == receiver.url and block["events"] == ["completed", "started"]
    attempts = block["deliveries"][0]["attempts"]
    assert len(attempts) == 1 and attempts[0]["status"] == 200


def test_fails_twice_then_succeeds_with_the_same_id_and_body(api, worker, hook_worker):
    key = new_key(api)
    client = api.test_client()
    with Receiver([503, 500, 204]) as receiver:
        job_id = _submit(client, key, receiver.url)
        view = _block(client, key, job_id)
    assert len(receiver.requests) == 3
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {f"msg_{job_id}_completed"}
    assert len({r["body"] for r in receiver.requests}) == 1
    times = [r["at"] for r in receiver.requests]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert all(gap >= 0.25 for gap in gaps), gaps  # the schedule's 0.3 s waits
    attempts = view["webhook"]["deliveries"][0]["attempts"]
    assert [a["status"] for a in attempts] == [503, 500, 204]
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "delivered"]
    assert attempts[0]["next_attempt_at"] and attempts[1]["next_attempt_at"]
    assert attempts[2]["next_attempt_at"] is None


def test_410_stops_and_retries_end_after_the_schedule(api, worker, hook_worker):
    key = new_key(api)
    client = api.test_client()
    with Receiver([410]) as gone, Receiver([500]) as broken:
        stopped = _submit(client, key, gone.url)
        exhausted = _submit(client, key, broken.url)
        view = _block(client, key, stopped, "failed")
        tired = _block(client, key, exhausted, "failed")
        time.sleep(1.0)  # nothing more comes
        assert len(gone.requests) == 1
        assert len(broken.requests) == 4  # the first try and the schedule's 3 retries
    assert view["webhook"]["deliveries"][0]["attempts"][0]["error"] == "HTTP 410 (gone)"
    assert tired["webhook"]["deliveries"][0]["next_attempt_at"] is None


def test_a_receiver_that_never_answers_is_timed_out(api, worker, hook_worker):
    key = new_key(api)
    client = api.test_client()
    with Receiver([None, 200]) as silent:
        job_id = _submit(client, key, silent.url)
        view = _block(client, key, job_id)
    first, second = view["webhook"]["deliveries"][0]["attempts"]
    assert first["status"] is None and "timed out after 1 s" in first["error"]
    assert 900 <= first["duration_ms"] < 3000
    assert second["status"] == 200


def test_canceled_jobs_are_completed_events_and_rotation_signs_with_both(api, no_worker,
                                                                           hook_worker):
    key = new_key(api)
    client = api.test_client()
    old = _secret(client, key)
    rotated = client.post("/api/webhooks/secret/rotate", headers=bearer(key)).get_json()
    assert rotated["previous"] == old and rotated["secret"] != old
    assert rotated["previous_expires_at"]
    with Receiver() as receiver:
        job_id = _submit(client, key, receiver.url)
        assert client.delete(f"/api/jobs/{job_id}", headers=bearer(key)).status_code == 204
        _block(client, key, job_id)
    sent = receiver.requests[0]
    assert len(sent["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (old, rotated["secret"]):  # receivers on either secret accept it
        event = Webhook(secret).verify(sent["body"], sent["headers"])
        assert event["type"] == "job.completed" and event["data"]["status"] == "canceled"


def test_revoking_the_key_mid_job(api, worker, hook_worker):
    key, key_id = new_key_and_id(api, "rev")
    spare = new_key(api, "rev")
    client = api.test_client()
    with Receiver() as receiver:
        job_id = _submit(client, key, receiver.url)
        assert client.get(f"/api/jobs/{job_id}", headers=bearer(key)).get_json()["status"] in (
            "queued", "started")
        assert api.test_cli_runner().invoke(args=["keys", "revoke", key_id]).exit_code == 0
        r = client.get(f"/api/jobs/{job_id}", headers=bearer(key))
        assert r.status_code == 401 and "revoked" in r.get_json()["detail"]
        view = _block(client, spare, job_id)  # the job finishes; its webhook is delivered
    assert view["status"] == "finished" and len(receiver.requests) == 1
    assert _submit_status(client, key, receiver.url) == 401


def _submit_status(client, key, url) -> int:
    return client.post("/api/generate", json={"prompt": "x", "webhook": url},
                       headers=bearer(key)).status_code


def test_webhook_fields_are_for_keys_only_and_checked(api, no_worker):
    client = api.test_client()
    r = client.post("/api/generate", json={"prompt": "x", "webhook": "https://example.com/h"})
    assert r.status_code == 422 and "API key" in r.get_json()["detail"]
    key = new_key(api)
    for url, words in (("http://example.com/h", "https://"), ("https://10.0.0.5/h", "private"),
                       ("https://[::1]/h", "private"), ("https://169.254.169.254/", "private"),
                       ("https://u:p@example.com/", "credentials"),
                       ("https://example.com/" + "a" * 2100, "2048")):
        r = client.post("/api/generate", json={"prompt": "x", "webhook": url},
                        headers=bearer(key))
        assert r.status_code == 422 and words in r.get_json()["detail"], (url, r.get_json())
    r = client.post("/api/generate", json={"prompt": "x", "webhook": "https://example.com/h",
                                           "webhook_events_filter": ["finished"]},
                    headers=bearer(key))
    assert r.status_code == 422
    assert client.get("/api/webhooks/secret").status_code == 401
    secret = client.get("/api/webhooks/secret", headers=bearer(key)).get_json()
    assert secret["secret"].startswith("whsec_") and secret["previous"] is None


def test_plain_jobs_keep_their_shape(api, no_worker):
    key = new_key(api)
    client = api.test_client()
    job_id = client.post("/api/generate", json={"prompt": "plain"}, headers=bearer(key)
                         ).get_json()["job_id"]
    view = client.get(f"/api/jobs/{job_id}", headers=bearer(key)).get_json()
    assert "webhook" not in view and "webhook_events_filter" not in view
    assert json.dumps(view)


def test_long_waits_stay_in_redis_until_the_sweep_sends_them(api, make_settings, no_worker,
                                                             hook_worker, monkeypatch):
    from tasks.jobs.store import WEBHOOKS_DUE_KEY
    from tasks.webhooks import outbox
    from tasks.webhooks.delivery import deliver

    store = api.extensions["jobs"]
    monkeypatch.setattr(store, "on_webhook", None)  # as if the fast path's send were lost
    key = new_key(api)
    client = api.test_client()
    with Receiver([500, 200]) as receiver:
        job_id = _submit(client, key, receiver.url)
        assert client.delete(f"/api/jobs/{job_id}", headers=bearer(key)).status_code == 204
        member = f"{job_id}:completed"
        assert store.r.zscore(WEBHOOKS_DUE_KEY, member) > time.time() + 30  # the lease
        hourly = make_settings(webhook_allow_hosts=("127.0.0.1",), webhook_retry_schedule=(7200,))
        assert deliver(store, api.extensions["clients"], hourly, job_id, "completed") == "retry"
        due = store.r.zscore(WEBHOOKS_DUE_KEY, member)
        assert 7100 < due - time.time() <= 7200  # no Celery countdown: the sorted set holds it
        time.sleep(1.0)
        assert len(receiver.requests) == 1
        store.r.zadd(WEBHOOKS_DUE_KEY, {member: time.time() - 1})  # two hours later
        assert outbox.sweep(store) == 1
        view = _block(client, key, job_id)
    assert [a["status"] for a in view["webhook"]["deliveries"][0]["attempts"]] == [500, 200]
    assert store.r.zscore(WEBHOOKS_DUE_KEY, member) is None


def test_any_key_of_the_client_downloads_and_streams_its_jobs(api, worker):
    key, spare, stranger = new_key(api, "dl"), new_key(api, "dl"), new_key(api, "other")
    client = api.test_client()
    job_id = client.post("/api/generate", json={"prompt": "fetch", "duration": 30},
                         headers=bearer(key)).get_json()["job_id"]
    wait_for(lambda: client.get(f"/api/jobs/{job_id}", headers=bearer(key)).get_json()["status"]
             == "finished", timeout=30, what="the job")
    audio = client.get(f"/api/audio/{job_id}", headers=bearer(spare))
    assert audio.status_code == 200 and audio.data[:4] == b"RIFF"
    assert "Set-Cookie" not in audio.headers
    assert client.get(f"/api/audio/{job_id}", headers=bearer(stranger)).status_code == 403
    events = client.get(f"/api/jobs/{job_id}/events", headers=bearer(spare))
    assert events.status_code == 200 and b"finished" in events.data
    assert client.get(f"/api/jobs/{job_id}/events", headers=bearer(stranger)).status_code == 403
