"""A Sentinel failover under the API: 503 JSON while no primary answers, then recovery
without a restart; jobs accepted across it end once; open streams re-subscribe.

A real primary + replica + sentinel (tests/support/sentinel.py); the primary is
killed outright (SIGKILL), as a lost machine would be.
"""

from __future__ import annotations

import os
import time
from functools import partial

import pytest

from tests.support.services import Worker, wait_for
from tests.web.test_events import Stream

pytestmark = pytest.mark.slow

FAST = 3.0  # seconds: no answer may take longer, failover or not


def timed_get(client, url):
    began = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - began


def sentinel_app(sentinel_set, make_settings, **extra):
    from web import create_app

    settings = make_settings(**sentinel_set.settings_fields(base_db=0), **extra)
    return settings, create_app(settings)


def test_api_answers_503_while_no_primary_then_recovers_by_itself(
    sentinel_set, make_settings, no_worker
):
    settings, app = sentinel_app(sentinel_set, make_settings)
    client = app.test_client()
    r = client.post("/api/generate", json={"prompt": "failover piano", "duration": 30})
    assert r.status_code == 202, r.data
    job_id = r.get_json()["job_id"]
    old = sentinel_set.kill_primary()

    statuses = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response, elapsed = timed_get(client, f"/api/jobs/{job_id}")
        assert elapsed < FAST, f"an answer took {elapsed:.2f}s"
        assert response.status_code in (200, 503), (response.status_code, response.data[:300])
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert isinstance(response.get_json()["detail"], str)
            assert int(response.headers["Retry-After"]) > 0
        elif 503 in statuses:
            break
        time.sleep(0.1)
    assert 503 in statuses and statuses[-1] == 200, statuses
    assert sentinel_set.primary_port() != old.port
    # The job written before the kill was on the replica: nothing lost.
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "queued"
    r = client.post("/api/generate", json={"prompt": "after the failover", "duration": 30})
    assert r.status_code == 202, r.data


def test_jobs_accepted_across_a_failover_finish_once(
    sentinel_set, make_settings, no_worker, tmp_path, storage_root
):
    from tasks.app import init_celery
    from tasks.config.services import job_store
    from tasks.jobs.broker import message_ids
    from tasks.jobs.stalled import requeue_stalled

    settings, app = sentinel_app(sentinel_set, make_settings, stall_seconds=3)
    client = app.test_client()
    env = {**os.environ, **sentinel_set.env(base_db=0), "ENGINE": "fixed",
           "FIXED_ENGINE_MS": "1500", "STALL_SECONDS": "3"}
    worker = Worker(env, "failover", tmp_path / "worker.log").start()
    jobs = job_store(settings)
    celery = init_celery(settings)
    sweep = partial(requeue_stalled, jobs, settings, 3,
                    queued_message_ids=partial(message_ids, celery, "music"))
    try:
        accepted = []

        def submit():
            r = client.post("/api/generate", json={"prompt": "across", "duration": 30})
            assert r.status_code in (202, 503), (r.status_code, r.data[:300])
            if r.status_code == 202:
                accepted.append(r.get_json()["job_id"])

        for _ in range(3):
            submit()
        wait_for(lambda: jobs.get(accepted[0])["status"] == "started", timeout=30,
                 what="the first job running")
        sentinel_set.kill_primary()  # mid-run
        began = time.monotonic()
        while time.monotonic() - began < 8:  # submits through the switch
            submit()
            time.sleep(0.4)

        def all_ended():
            try:
                sweep()
                records = jobs.get_many(accepted)
            except Exception:  # noqa: BLE001 - Redis still switching: look again
                return False
            return all(r and r["status"] in ("finished", "failed") for r in records)

        wait_for(all_ended, timeout=120, interval=1.0, what="every accepted job to end")
        records = jobs.get_many(accepted)
        assert [r["status"] for r in records] == ["finished"] * len(accepted), records
        audio = sorted(p.name for p in (storage_root / "audio").glob("*.wav"))
        for job_id in accepted:
            assert audio.count(f"{job_id}.wav") == 1
        assert worker.proc.poll() is None  # reconnected by itself, never restarted
    finally:
        worker.stop()


def test_an_open_stream_resubscribes_and_ends_with_the_terminal_event(
    sentinel_set, make_settings, no_worker
):
    from tasks.config.services import job_store

    settings, app = sentinel_app(sentinel_set, make_settings)
    client = app.test_client()
    r = client.post("/api/generate", json={"prompt": "stream across", "duration": 30})
    job_id = r.get_json()["job_id"]
    stream = Stream(client, job_id)
    assert stream.next_event()[0] == "queued"
    old = sentinel_set.kill_primary()
    sentinel_set.wait_promoted(old.port)
    jobs = job_store(settings)
    wait_for(lambda: _quietly(lambda: jobs.start(job_id, 3)), timeout=15, what="a start")
    jobs.finish(job_id, audio_key=f"audio/{job_id}.wav")
    names = [name for name, _ in stream.rest()]
    assert names[-1] == "finished", names
    assert "started" in names or names == ["finished"]


def _quietly(fn) -> bool:
    import redis

    try:
        fn()
        return True
    except redis.RedisError:
        return False
