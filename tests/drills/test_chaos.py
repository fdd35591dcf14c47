"""Drill: 50 jobs on 3 workers while worker processes are SIGKILLed every few seconds.

Every 2-4 s a random victim dies: a pool child (its parent replaces it and the
message is redelivered) or a whole worker, parent and child (the drill starts
it again; its unacknowledged message only returns after the visibility
timeout, so the stall sweep, run here every 2 s as beat would, requeues the
silent job). Every job must end `finished` exactly once with one audio object,
or `failed` after 3 interruptions; none stuck, duplicated or lost.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter

import pytest

from tasks.config.settings import get_settings
from tests.support.services import Worker

JOBS = 50
WORKERS = 3
JOB_MS = 1500
STALL_SECONDS = 6
FIELDS = {"prompt": "drill: chaos", "duration": 30}


@pytest.mark.drill
def test_chaos_every_job_ends_once(jobs, worker_pool, storage_root, tmp_path, monkeypatch):
    from tasks import maintenance
    from tasks.jobs.params import JobParams
    from tasks.jobs.submit import submit

    worker_pool.stop()
    monkeypatch.setenv("STALL_SECONDS", str(STALL_SECONDS))
    get_settings.cache_clear()
    settings = get_settings()
    env = {**os.environ, "ENGINE": "fixed", "FIXED_ENGINE_MS": str(JOB_MS),
           "FIXED_ENGINE_STEPS": "6"}
    rng = random.Random(11)
    workers = [Worker(env, f"chaos{n}", tmp_path / f"chaos{n}-0.log").start()
               for n in range(WORKERS)]
    restarts = Counter()
    events = jobs.r.pubsub(ignore_subscribe_messages=True)
    events.psubscribe("events:*")
    finished_events: Counter = Counter()

    def drain() -> None:
        while (message := events.get_message(timeout=0)) is not None:
            job_id = message["channel"].decode().split(":", 1)[1]
            if json.loads(message["data"]).get("event") == "finished":
                finished_events[job_id] += 1

    params = JobParams.parse(dict(FIELDS))
    ids = [submit(jobs, settings, "chaos", params)["job_id"] for _ in range(JOBS)]
    began = time.monotonic()
    kills = Counter()
    next_kill = began + rng.uniform(2, 4)
    next_sweep = began + 2
    try:
        while time.monotonic() - began < 300:
            drain()
            records = jobs.get_many(ids)
            if all(r["status"] in ("finished", "failed") for r in records):
                break
            now = time.monotonic()
            if now >= next_sweep:
                maintenance.requeue_stalled(older_than=STALL_SECONDS)
                next_sweep = now + 2
            for n, worker in enumerate(workers):
                if worker.proc.poll() is not None:  # killed whole last round: start again
                    restarts[n] += 1
                    workers[n] = Worker(env, f"chaos{n}",
                                        tmp_path / f"chaos{n}-{restarts[n]}.log").start()
            if now >= next_kill:
                n = rng.randrange(WORKERS)
                children = workers[n].pool_children()
                if children and rng.random() < 0.6:
                    os.kill(children[0].pid, signal.SIGKILL)
                    kills["pool child"] += 1
                else:
                    os.killpg(workers[n].proc.pid, signal.SIGKILL)
                    workers[n].proc.wait(5)
                    kills["whole worker"] += 1
                next_kill = now + rng.uniform(2, 4)
            time.sleep(0.2)
        elapsed = time.monotonic() - began
        time.sleep(1)  # late events (a duplicate `finished` would show here)
        drain()
    finally:
        for worker in workers:
            worker.stop()
        get_settings.cache_clear()

    records = {r["job_id"]: r for r in jobs.get_many(ids)}
    outcome = Counter(r["status"] for r in records.values())
    audio = {p.stem for p in (storage_root / "audio").glob("*.wav")}
    figure = {
        "jobs": JOBS, "finished": outcome["finished"], "failed": outcome["failed"],
        "kills": dict(kills), "worker_restarts": sum(restarts.values()),
        "seconds": round(elapsed, 1),
        "losses": sum(r["losses"] for r in records.values()),
        "attempts": sum(r["attempts"] for r in records.values()),
    }
    print("chaos drill:", figure)
    assert outcome["finished"] + outcome["failed"] == JOBS, (figure, outcome)  # none stuck
    assert sum(kills.values()) >= 10, figure
    for job_id, record in records.items():
        if record["status"] == "finished":
            assert finished_events[job_id] == 1, (job_id, finished_events[job_id])
            assert job_id in audio, job_id
        else:
            assert "interrupted 3 times" in record["error"], record
            assert finished_events[job_id] == 0 and job_id not in audio, record
