"""/health, /health/ready and /metrics."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.conftest import wait_status
from tests.support.services import free_port, wait_for


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in Prometheus text format."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)$"
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else None


def test_health_is_unchanged(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.get_json() == {"status": "healthy", "version": "1.0.0"}


def test_ready_with_a_live_worker(client, worker):
    # Each test flushes the jobs DB; the worker heartbeats again within ~2 s.
    r = wait_for(lambda: (x := client.get("/health/ready")).status_code == 200 and x,
                 timeout=10, what="a worker heartbeat")
    body = r.get_json()
    assert body["status"] == "ready"
    assert body["checks"] == {"redis": "ok", "storage": "ok", "workers": "ok"}
    assert body["live_workers"] >= 1


def test_not_ready_without_workers(client, no_worker, jobs):
    jobs.r.delete("workers:alive")
    r = client.get("/health/ready")
    assert r.status_code == 503
    body = r.get_json()
    assert "workers" in body["detail"]
    assert body["checks"]["redis"] == "ok" and body["checks"]["storage"] == "ok"
    assert body["checks"]["workers"].startswith("failed")


def test_stale_heartbeat_is_not_a_live_worker(client, no_worker, jobs):
    jobs.r.zadd("workers:alive", {"old@host": time.time() - 60})
    assert client.get("/health/ready").status_code == 503
    jobs.heartbeat("new@host")
    assert client.get("/health/ready").status_code == 200


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_not_ready_when_storage_is_down(make_settings, no_worker, jobs, tmp_path, kind):
    from web import create_app

    if kind == "file":
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("x")
        settings = make_settings(storage_url=(blocker / "audio").as_uri())
    else:  # an S3 endpoint where nothing listens
        settings = make_settings(storage_url="s3://bucket",
                                 s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    jobs.heartbeat("w@host")
    client = create_app(settings).test_client()
    began = time.monotonic()
    r = client.get("/health/ready")
    elapsed = time.monotonic() - began
    assert r.status_code == 503
    body = r.get_json()
    assert "storage" in body["detail"]
    assert body["checks"]["storage"] != "ok"
    assert body["checks"]["redis"] == "ok" and body["checks"]["workers"] == "ok"
    assert elapsed < 2.5, elapsed
    print(f"\n/health/ready with {kind} storage down: {elapsed * 1000:.0f} ms")


def test_metrics_count_jobs(client, worker, jobs):
    before = client.get("/metrics").get_data(as_text=True)
    submitted0 = sample(before, "music_jobs_submitted_total") or 0
    r = client.post("/api/generate", json={"prompt": "metrics", "duration": 30})
    assert r.status_code == 202
    assert wait_status(client, r.get_json()["job_id"])["status"] == "finished"
    jobs.fail("nonexistent-job", "x")  # not a transition: must not count
    wait_for(jobs.live_workers, timeout=10, what="a worker heartbeat")
    # The run-time histograms are written just after the record says finished.
    text = wait_for(
        lambda: (t := client.get("/metrics").get_data(as_text=True))
        and sample(t, "music_job_run_seconds_count", duration="30") == 1 and t,
        timeout=10, what="the finished job's run-time sample",
    )
    assert sample(text, "music_jobs_submitted_total") == submitted0 + 1
    assert sample(text, "music_jobs_finished_total") == 1
    assert sample(text, "music_jobs_failed_total") == 0
    assert sample(text, "music_redis_up") == 1
    assert sample(text, "music_live_workers") >= 1
    assert sample(text, "music_queue_depth") == 0
    assert sample(text, "music_job_run_seconds_count", duration="30") == 1
    assert sample(text, "music_job_run_seconds_bucket", duration="30", le="+Inf") == 1
    assert sample(text, "music_job_run_seconds_sum", duration="30") > 0.2
    per_second = sample(text, "music_generation_seconds_per_audio_second_sum", engine="fixed")
    assert 0.2 / 30 <= per_second < 1.0  # 200 ms of "compute" for 30 s of audio
    assert sample(text, "music_generation_seconds_per_audio_second_bucket", engine="fixed",
                  le="1") == 1


def test_metrics_count_failed_and_canceled(client, no_worker, jobs):
    text0 = client.get("/metrics").get_data(as_text=True)
    canceled0 = sample(text0, "music_jobs_canceled_total") or 0
    ids = [client.post("/api/generate", json={"prompt": f"p{i}", "duration": 30})
           .get_json()["job_id"] for i in range(3)]
    assert client.delete(f"/api/jobs/{ids[0]}").status_code == 204
    assert client.delete(f"/api/jobs/{ids[0]}").status_code == 409  # not counted twice
    jobs.start(ids[1], 3)
    jobs.fail(ids[1], "boom")
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "music_jobs_canceled_total") == canceled0 + 1
    assert sample(text, "music_jobs_failed_total") == 1
    assert sample(text, "music_queue_depth") == 1


def test_metrics_add_up_across_gunicorn_workers(live_api):
    """Two gunicorn workers, multiprocess mode: every scrape sees every submission."""

    def submitted() -> list[float]:
        values = []
        for _ in range(6):
            # A new connection each time, so scrapes land on different workers.
            text = requests.get(live_api.url + "/metrics", timeout=5,
                                headers={"Connection": "close"}).text
            values.append(sample(text, "music_jobs_submitted_total") or 0.0)
        return values

    before = submitted()
    assert len(set(before)) == 1, before
    for i in range(8):
        with requests.Session() as s:  # a new session (and connection) per job
            r = s.post(live_api.url + "/api/generate",
                       json={"prompt": f"multi {i}", "duration": 30},
                       headers={"Connection": "close"}, timeout=5)
            assert r.status_code == 202, r.text
    after = submitted()
    assert all(value == before[0] + 8 for value in after), (before, after)


def test_a_maintenance_only_worker_is_not_a_live_worker(no_worker, jobs, client, tmp_path):
    """The compose `maintenance` service (-Q maintenance) must not count as capacity."""
    import os

    from tests.support.services import Worker

    jobs.r.delete("workers:alive")
    env = {**os.environ, "ENGINE": "fixed"}
    maint = Worker(env, "maint", tmp_path / "maint.log", queues="maintenance").start()
    try:
        time.sleep(2.5)  # past the first event heartbeat (every 2 s)
        assert jobs.live_workers() == 0
        r = client.get("/health/ready")
        assert r.status_code == 503 and "workers" in r.get_json()["detail"]
    finally:
        maint.stop()
