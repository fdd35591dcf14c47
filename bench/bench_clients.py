"""Servers as clients: a bearer status poll vs a cookie one; webhook latency at idle.

1. The same gunicorn (2 workers, as bench_api) serves GET /api/jobs/{id} for a
   job submitted with an API key, polled with `Authorization: Bearer`, and for
   a job submitted by a browser session, polled with its cookie. Same load
   generator, same duration; goal: the bearer poll costs no more (rps ratio
   >= 0.9, inside run-to-run noise).
2. Webhook delivery at idle: a fixed-engine `music` worker (0 ms jobs), a
   `webhooks` worker and a loopback receiver. One job at a time; the latency is
   the receiver's arrival time minus the job's `finished_at` (stamped by the
   worker at the terminal transition). Baseline: the same signed POST sent
   directly from this process (what the delivery itself costs). Goal: p99 < 50 ms.
"""

from __future__ import annotations

import shutil
import statistics
import time
from datetime import datetime

import requests

from bench import common
from bench.bench_api import _python_load, _wrk
from tests.support.services import wait_for

POLL_GOAL = 0.9
LATENCY_GOAL_MS = 50.0
HOOK_ENV = {"WEBHOOK_ALLOW_HOSTS": "127.0.0.1", "RATE_LIMIT_CLIENT": "100000/minute",
            "MAX_ACTIVE_JOBS_PER_CLIENT": "100000"}


def _new_key(name: str) -> str:
    from tasks.config.services import client_store
    from tasks.config.settings import get_settings

    return client_store(get_settings()).create_key(name)[0]


def _poll_rows(quick: bool) -> list[dict]:
    seconds, connections = (2 if quick else 5), 32
    load = _wrk if shutil.which("wrk") else _python_load
    tool = "wrk" if load is _wrk else "python"
    with common.api(workers=2, **HOOK_ENV) as server:
        key = _new_key("bench-poll")
        bearer = {"Authorization": f"Bearer {key}"}
        keyed = requests.post(f"{server.url}/api/generate", json={"prompt": "b", "duration": 30},
                              headers=bearer, timeout=10).json()["job_id"]
        browser = requests.Session()
        cookie_job = browser.post(f"{server.url}/api/generate", json={"prompt": "c",
                                                                      "duration": 30},
                                  timeout=10).json()["job_id"]
        cookie = f"session_id={browser.cookies['session_id']}"
        key_url, cookie_url = (f"{server.url}/api/jobs/{keyed}",
                               f"{server.url}/api/jobs/{cookie_job}")
        load(key_url, "", 1, connections, headers=bearer)  # warm-up both
        load(cookie_url, cookie, 1, connections)
        # Deterministic where req/s is noisy: Redis commands per poll, this
        # benchmark's Redis being its own.
        per_cookie = _redis_commands(lambda: browser.get(cookie_url, timeout=10))
        per_key = _redis_commands(lambda: requests.get(key_url, headers=bearer, timeout=10))
        # Alternated, best of three each: on a shared machine a neighbour's burst
        # would otherwise land on one side only.
        # The API processes' CPU per request is measured too: unlike req/s, a
        # neighbour's load barely moves it.
        cookie_runs, key_runs = [], []
        for _ in range(3):
            cookie_runs.append(_with_cpu(server, lambda: load(cookie_url, cookie, seconds,
                                                              connections), seconds))
            key_runs.append(_with_cpu(server, lambda: load(key_url, "", seconds, connections,
                                                           headers=bearer), seconds))
    with_cookie = max(cookie_runs, key=lambda run: run["rps"])
    with_key = max(key_runs, key=lambda run: run["rps"])
    errors = sum(run["errors"] for run in cookie_runs + key_runs)
    cpu_cookie = statistics.median(run["cpu_us"] for run in cookie_runs)
    cpu_key = statistics.median(run["cpu_us"] for run in key_runs)
    return [
        # Pass/fail on errors only: req/s swung 0.62-1.35x between runs on a shared
        # 2-core machine with equal CPU per request; the CPU and command rows judge cost.
        common.row(f"clients_bearer_poll_rps ({tool}, {connections} conns)", with_key["rps"],
                   "req/s", with_cookie["rps"],
                   f"info (~{POLL_GOAL}x+ on a quiet machine); 0 errors (got {errors})",
                   errors == 0),
        common.row("clients_bearer_poll_p99", with_key["p99_ms"], "ms", with_cookie["p99_ms"],
                   "info: vs the cookie poll's p99", None),
        common.row("clients_bearer_poll_api_cpu", cpu_key, "us/req", cpu_cookie,
                   "<= 1.1x the cookie poll's (gunicorn workers' CPU, median of 3)",
                   cpu_key <= 1.1 * cpu_cookie),
        common.row("clients_bearer_poll_redis_commands", per_key, "cmd/req", per_cookie,
                   "<= the cookie poll's (Redis commands per status poll)",
                   per_key <= per_cookie + 0.05),
    ]


def _with_cpu(server, run, seconds: float) -> dict:
    import psutil

    workers = psutil.Process(server.proc.pid).children()

    def cpu() -> float:
        return sum(sum(w.cpu_times()[:2]) for w in workers)

    before = cpu()
    result = run()
    result["cpu_us"] = (cpu() - before) / max(1.0, result["rps"] * seconds) * 1e6
    return result


def _redis_commands(poll, n: int = 200) -> float:
    import redis

    server = redis.Redis.from_url(common.REDIS_URL)

    def processed() -> int:
        return int(server.info("stats")["total_commands_processed"])

    for _ in range(20):
        poll()
    before = processed()
    for _ in range(n):
        assert poll().status_code == 200
    return (processed() - before - 1) / n  # minus the INFO itself


def _latency_rows(quick: bool) -> list[dict]:
    from tests.support.receiver import Receiver

    n = 20 if quick else 60
    name = common._name("hooks")
    hooks = common.Worker(common.env(**HOOK_ENV), name, common.SCRATCH / f"{name}.log",
                          queues="webhooks", concurrency=2)
    latencies, direct = [], []
    with common.worker(FIXED_ENGINE_MS="0", **HOOK_ENV), common.api(workers=1, **HOOK_ENV) \
            as server, Receiver() as receiver:
        hooks.start()
        try:
            key = _new_key("bench-hooks")
            bearer = {"Authorization": f"Bearer {key}"}
            for i in range(n + 3):  # the first 3 warm up connections and imports
                count = len(receiver.requests)
                job_id = requests.post(
                    f"{server.url}/api/generate", headers=bearer, timeout=10,
                    json={"prompt": f"hook {i}", "duration": 30, "webhook": receiver.url},
                ).json()["job_id"]
                wait_for(lambda c=count: len(receiver.requests) > c, 30, what="the webhook")
                arrived = receiver.requests[-1]["at"]
                view = requests.get(f"{server.url}/api/jobs/{job_id}", headers=bearer,
                                    timeout=10).json()
                finished = datetime.fromisoformat(view["finished_at"]).timestamp()
                if i >= 3:
                    latencies.append((arrived - finished) * 1000)
                time.sleep(0.05)  # idle between jobs
            direct = _direct_posts(receiver, n)
        finally:
            hooks.stop()
    p50, p99 = common.pct(latencies, 50), common.pct(latencies, 99)
    return [
        common.row(f"clients_webhook_after_finish_p99 ({n} jobs)", p99, "ms",
                   common.pct(direct, 99), f"< {LATENCY_GOAL_MS:g} ms (p50 {p50:.1f} ms, "
                   f"max {max(latencies):.1f} ms)", p99 < LATENCY_GOAL_MS),
        common.row("clients_webhook_after_finish_p50", p50, "ms", common.pct(direct, 50),
                   "info: baseline = the signed POST sent directly", None),
    ]


def _direct_posts(receiver, n: int) -> list[float]:
    from tasks.webhooks import sender
    from tasks.webhooks.policy import AllowList

    allow, took = AllowList.parse(("127.0.0.1",)), []
    for _ in range(n):
        began = time.perf_counter()
        attempt = sender.send(receiver.url, "msg_bench", '{"type":"job.completed"}',
                              ["whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], allow, 5.0)
        took.append((time.perf_counter() - began) * 1000)
        assert attempt.outcome == "delivered", attempt
    return took


def run(quick: bool = False) -> list[dict]:
    common.flush()
    try:
        return _poll_rows(quick) + _latency_rows(quick)
    finally:
        common.flush()
