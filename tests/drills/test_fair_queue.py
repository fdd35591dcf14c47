"""Drill: a newcomer is served fairly while two clients keep their caps full.

One session keeps its 5 active slots full; one IP keeps 15 full by rotating
cookies (a fresh session per job). Two workers run the fixed-latency engine.
Then a newcomer (another IP, another session) submits one job. Its job must be
the first to start after it was submitted and must start within one job
duration of the next worker to come free: FIFO would put it behind every job
already queued (about 18 here, i.e. 9 job durations on 2 workers).
"""

from __future__ import annotations

import os
import time
from datetime import datetime

import pytest

from tests.conftest import wait_status
from tests.support.services import Worker

JOB_MS = 1500
WORKERS = 2


def _stamp(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


@pytest.mark.drill
def test_newcomer_starts_within_one_job_of_the_next_free_worker(make_settings, jobs,
                                                               worker_pool, tmp_path):
    from web import create_app

    worker_pool.stop()
    app = create_app(make_settings(max_active_jobs_per_session=5, max_active_jobs_per_ip=15))
    env = {**os.environ, "ENGINE": "fixed", "FIXED_ENGINE_MS": str(JOB_MS)}
    workers = [Worker(env, f"fair{n}", tmp_path / f"fair{n}.log").start()
               for n in range(WORKERS)]
    heavy = app.test_client()
    heavy.environ_base["REMOTE_ADDR"] = "198.51.100.1"
    submitted: list[str] = []

    def post(client) -> bool:
        r = client.post("/api/generate", json={"prompt": "drill: fair", "duration": 30})
        if r.status_code == 202:
            submitted.append(r.get_json()["job_id"])
        return r.status_code == 202

    def rotator():
        fresh = app.test_client()  # a new cookie jar: a new session every time
        fresh.environ_base["REMOTE_ADDR"] = "203.0.113.9"
        return fresh

    def refill() -> None:
        while post(heavy):
            pass
        while post(rotator()):
            pass

    try:
        warm_until = time.time() + 3 * JOB_MS / 1000
        while time.time() < warm_until:
            refill()
            time.sleep(0.05)
        newcomer = app.test_client()
        newcomer.environ_base["REMOTE_ADDR"] = "192.0.2.200"
        before = jobs.get_many(list(submitted))
        depth = sum(1 for r in before if r and r["status"] == "queued")
        running_at_t0 = [r["job_id"] for r in before if r and r["status"] == "started"]
        t0 = time.time()
        r = newcomer.post("/api/generate", json={"prompt": "drill: newcomer", "duration": 30})
        assert r.status_code == 202, r.get_json()
        new_id = r.get_json()["job_id"]
        while jobs.get(new_id)["status"] == "queued" and time.time() < t0 + 60:
            refill()  # the pressure goes on while the newcomer waits
            time.sleep(0.05)
        started = _stamp(wait_status(jobs, new_id, timeout=60)["started_at"])
        for job_id in running_at_t0:
            wait_status(jobs, job_id, timeout=60)
    finally:
        for worker in workers:
            worker.stop()

    records = [r for r in jobs.get_many(submitted) if r and r.get("started_at")]
    next_free = min(_stamp(jobs.get(j)["finished_at"]) for j in running_at_t0)
    after_t0 = sorted(_stamp(r["started_at"]) for r in records if _stamp(r["started_at"]) > t0)
    rank = sum(1 for s in after_t0 if s < started) + 1
    figure = {
        "queued_at_submit": depth, "running_at_submit": len(running_at_t0),
        "start_rank_after_submit": rank, "wait_s": round(started - t0, 2),
        "after_next_free_worker_s": round(started - next_free, 2),
        "job_s": JOB_MS / 1000,
    }
    print("fair queue drill:", figure)
    assert depth >= 15, figure  # the two heavy clients really were ahead in FIFO order
    assert rank == 1, figure  # the first job to start after the newcomer submitted
    assert started - next_free <= JOB_MS / 1000, figure
