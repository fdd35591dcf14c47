"""Drill: Redis (broker + job store) restarts while jobs are queued and running.

A private redis-server on a free port with AOF on (`--appendonly yes
--appendfsync always --dir <tmp>`), so its data survives the restart - what
production runs (compose: Redis AOF). A worker and a gunicorn API use it. With
jobs queued and one running, Redis is shut down for a few seconds and started
again on the same port and data dir. While down the API answers 503; after,
it recovers by itself, and every job finishes exactly once.
"""

from __future__ import annotations

import time

import pytest
import redis
import requests

from tasks.config.settings import REDIS_DB_OFFSETS
from tests.support.services import ApiServer, PrivateRedis, Worker, run_python, wait_for

JOBS = 5


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


@pytest.mark.drill  # > 60 s: `make drills`
def test_redis_restart_loses_and_duplicates_nothing(private_redis, tmp_path, worker_pool):
    import os

    worker_pool.stop()  # the shared test Redis's worker plays no part here
    storage = tmp_path / "audio"
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0",
        "STORAGE_URL": storage.as_uri(),
        "ENGINE": "fixed",
        "FIXED_ENGINE_MS": "1500",
    }
    worker = Worker(env, "drillredis", tmp_path / "worker.log", queues="music").start()
    api = ApiServer(env, tmp_path / "api.log").start()
    try:
        s = requests.Session()
        ids = []
        for _ in range(JOBS):
            r = s.post(
                f"{api.url}/api/generate",
                json={"prompt": "drill: broker", "duration": 30},
                timeout=10,
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["job_id"])
        wait_for(
            lambda: s.get(f"{api.url}/api/jobs/{ids[0]}", timeout=10).json()["status"] == "started",
            timeout=30,
            what="first job started",
        )

        private_redis.stop()
        down = [s.get(f"{api.url}/api/jobs/{ids[1]}", timeout=15) for _ in range(3)]
        assert [r.status_code for r in down] == [503] * 3, [r.text for r in down]
        assert all(r.json()["detail"] for r in down)
        # liveness stays up for probes (no cookie; with one, the session load 503s too)
        assert requests.get(f"{api.url}/health", timeout=10).status_code == 200
        time.sleep(3)
        private_redis.start()

        # recovers by itself: no restart of the API or the worker
        wait_for(
            lambda: s.get(f"{api.url}/api/jobs/{ids[1]}", timeout=10).status_code == 200,
            timeout=30,
            what="API answering again",
        )
        final = {}
        queued = ids[1:]  # ids[0] was running when Redis went away

        def all_done(which) -> bool:
            for job_id in which:
                final[job_id] = s.get(f"{api.url}/api/jobs/{job_id}", timeout=10).json()
            return all(final[j]["status"] in ("finished", "failed") for j in which)

        wait_for(lambda: all_done(queued), timeout=60, interval=0.5, what="queued jobs to end")
        assert [final[j]["status"] for j in queued] == ["finished"] * len(queued), final
        store = redis.Redis(port=private_redis.port, db=REDIS_DB_OFFSETS["jobs"])
        attempts = {job_id: int(store.hget(f"job:{job_id}", "attempts")) for job_id in ids}
        print(f"\nattempts per job after the restart: {attempts}")
        assert all(attempts[j] == 1 for j in queued), attempts  # none ran twice
        assert worker.proc.poll() is None
        # The job that was running lost its broker connection: Celery cancelled
        # the run and cannot ack or reject its message. The stalled-job sweep
        # (beat, every 30 s in production) puts it back in the queue once its
        # run has been silent for STALL_SECONDS; here with a short silence.
        sweep = (
            "from tasks.maintenance import requeue_stalled; print(requeue_stalled(older_than=3))"
        )

        def swept_and_done() -> bool:
            if all_done(ids[:1]):
                return True
            run_python("-c", sweep, env=env, check=True, timeout=30)
            return False

        wait_for(swept_and_done, timeout=60, interval=1, what="the running job to be requeued")
        objects = sorted(p.name for p in (storage / "audio").glob("*.wav"))
        assert final[ids[0]]["status"] == "finished"
        assert objects == sorted(f"{job_id}.wav" for job_id in ids)  # one each, no extras
    finally:
        api.stop()
        worker.stop()
