"""Caps on queued + started jobs per session and per client IP, and the fair queue."""

from __future__ import annotations

import time

from tests.conftest import wait_status
from tests.support.services import Worker


def _app(make_settings, **overrides):
    from web import create_app

    caps = {"max_active_jobs_per_session": 5, "max_active_jobs_per_ip": 15, **overrides}
    return create_app(make_settings(**caps))


def _post(client, prompt="cap", duration=30):
    return client.post("/api/generate", json={"prompt": prompt, "duration": duration})


def test_a_burst_of_five_is_accepted_and_the_sixth_is_429(make_settings, jobs, no_worker):
    client = _app(make_settings).test_client()
    assert [_post(client).status_code for _ in range(5)] == [202] * 5
    r = _post(client)
    assert r.status_code == 429
    assert "5 jobs are still waiting" in r.get_json()["detail"]
    assert int(r.headers["Retry-After"]) >= 1
    assert client.get("/api/jobs").get_json()["total"] == 5  # the refused one left nothing
    # One ends: a slot frees at once.
    first = client.get("/api/jobs").get_json()["jobs"][-1]["job_id"]
    assert client.delete(f"/api/jobs/{first}").status_code == 204
    assert _post(client).status_code == 202
    assert _post(client).status_code == 429


def test_rotating_cookies_hit_the_per_ip_cap(make_settings, no_worker):
    app = _app(make_settings)
    codes = [_post(app.test_client()).status_code for _ in range(16)]  # fresh cookies each time
    assert codes == [202] * 15 + [429]
    r = _post(app.test_client())
    assert "15 jobs are still waiting" in r.get_json()["detail"] and "Retry-After" in r.headers
    # Another address is unaffected.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.77"
    assert _post(other).status_code == 202


def test_first_jobs_run_before_anyones_fourth_and_batch_last(make_settings, jobs, worker_pool,
                                                            tmp_path):
    import os

    from tasks.app import app as celery_app

    worker_pool.stop()
    app = _app(make_settings)
    heavy, newcomer = app.test_client(), app.test_client()
    newcomer.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    batch = celery_app.send_task("music.generate", task_id="batchjob0001", queue="music",
                                 kwargs={"prompt": "batch", "duration": 30, "seed": 1})
    heavy_ids = [_post(heavy, f"heavy {n}").get_json()["job_id"] for n in range(4)]
    new_id = _post(newcomer, "newcomer").get_json()["job_id"]

    env = {**os.environ, "ENGINE": "fixed", "FIXED_ENGINE_MS": "100"}
    worker = Worker(env, "fair", tmp_path / "fair.log").start()
    try:
        for job_id in [*heavy_ids, new_id]:
            assert wait_status(jobs, job_id)["status"] == "finished"
        batch.get(timeout=30)
    finally:
        worker.stop()
    started = {j: jobs.get(j)["started_at"] for j in [*heavy_ids, new_id, "batchjob0001"]}
    order = sorted(started, key=started.get)
    # The heavy session's first job and the newcomer's share priority 0 (first
    # come first served); the heavy session's 2nd..4th follow; batch goes last.
    assert order == [heavy_ids[0], new_id, *heavy_ids[1:], "batchjob0001"], order


def test_cancel_answers_even_if_the_revoke_hangs(client, jobs, no_worker, monkeypatch):
    job_id = _post(client).get_json()["job_id"]
    control = client.application.extensions["celery"].control
    monkeypatch.setattr(control, "revoke", lambda *a, **k: time.sleep(30))
    began = time.monotonic()
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    assert time.monotonic() - began < 3
    assert jobs.get(job_id)["status"] == "canceled"


def test_estimated_wait_reads_running_totals_not_the_queue(client, jobs, no_worker, monkeypatch):
    for _ in range(3):
        _post(client, duration=60)
    def no_record_reads(*args, **kwargs):
        raise AssertionError("estimated_wait read the queued jobs' records")

    # No per-job reads of the queue: only the running totals answer.
    monkeypatch.setattr(jobs.r.__class__, "hmget", no_record_reads)
    r = _post(client, duration=30)
    # 3 x 60 s of audio ahead at 0.25 s per audio second, one (absent) worker, + own 7.5 s.
    assert r.get_json()["estimated_wait"] == 53
