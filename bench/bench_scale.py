"""Scale-out: jobs/min with 1, 2 and 4 worker processes on the fixed engine.

One `celery worker -c N` (prefork, N pool children) per step; the engine
sleeps FIXED_ENGINE_MS per job, so even 2 cores can show whether the queue
keeps N children busy. Each step submits 4*N 30 s jobs at once (through
`tasks.jobs.submit.submit`, as the API does) and times first submit -> last
`finished` (read from the job records). Baseline: the 1-process rate.
"""

from __future__ import annotations

import time

from bench import common

GOAL_4 = 3.6


def _rate(concurrency: int, latency_ms: int, per_child: int) -> float:
    from tasks.config.services import job_store
    from tasks.config.settings import get_settings
    from tasks.jobs.params import validate
    from tasks.jobs.submit import submit

    settings = get_settings()
    jobs = job_store(settings)
    n = per_child * concurrency
    params = validate(prompt="bench: scale-out", duration=30, seed=1)
    with common.worker(concurrency=concurrency, FIXED_ENGINE_MS=str(latency_ms),
                       FIXED_ENGINE_STEPS="4"):
        began = time.perf_counter()
        ids = [submit(jobs, settings, "bench", params)["job_id"] for _ in range(n)]
        pending = set(ids)
        deadline = began + 20 + 3 * n * latency_ms / 1000 / concurrency
        while pending:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{len(pending)} of {n} jobs unfinished at -c {concurrency}")
            for job_id in list(pending):
                status = jobs.get(job_id)["status"]
                if status == "failed":
                    raise RuntimeError(f"job failed: {jobs.get(job_id)}")
                if status == "finished":
                    pending.discard(job_id)
            time.sleep(0.02)
        elapsed = time.perf_counter() - began
    return n / elapsed * 60


def run(quick: bool = False) -> list[dict]:
    latency_ms, per_child = (500, 3) if quick else (1000, 4)
    common.flush()
    rates = {c: _rate(c, latency_ms, per_child) for c in (1, 2, 4)}
    common.flush()
    ideal = 60_000 / latency_ms
    return [
        common.row("scale_jobs_per_min_1", rates[1], "jobs/min", ideal,
                   f"info: baseline is the engine-only ideal {ideal:g}/min", None),
        common.row("scale_jobs_per_min_2", rates[2], "jobs/min", rates[1], "info (ideal 2x)",
                   None),
        common.row("scale_jobs_per_min_4", rates[4], "jobs/min", rates[1],
                   f">= {GOAL_4}x one process", rates[4] >= GOAL_4 * rates[1]),
    ]
