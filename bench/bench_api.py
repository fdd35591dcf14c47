"""API hot paths: job-status polls and submits against the framework's own limit.

gunicorn runs as in production (gunicorn.conf.py, gevent) with 2 workers.
Two baselines run on the same gunicorn config in the same run: `/health` (a
bare Flask view, no Redis) and `bench/bare_app.py` (a bare Flask route doing
one Redis GET: the framework's limit for any route that needs Redis).

* poll: GET /api/jobs/{id} of a real `queued` job (no worker runs; the
  costliest status to show), with the session cookie as a browser sends it.
  Load from `wrk` (keep-alive, 2 threads, 32 connections) when installed, else
  a pool of Python threads on keep-alive http.client connections; every route
  gets the same load and duration, in interleaved rounds (best of each): a
  neighbour's burst on a shared machine hurts one round, not one route.
  Non-2xx answers and requests over 2 s count as errors and fail the row.
* submit: POST /api/generate one at a time at idle, each on a new
  connection (as a server's burst would), vs the bare route the same way;
  then sustained with 8 keep-alive connections (wrk with bench/wrk_submit.lua),
  limits lifted by the bench settings, every answer a 202.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import requests

from bench import common

GOAL = 0.7
P99_GOAL_MS = 50
SUBMIT_P50_MS, SUBMIT_P99_MS, SUBMIT_RPS = 2.0, 10.0, 300.0
WRK_SUBMIT = Path(__file__).with_name("wrk_submit.lua")
SUBMIT_BODY = json.dumps({"prompt": "bench: sustained submits", "duration": 30})


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def _wrk(url: str, cookie: str, seconds: int, connections: int, script: str | None = None,
         headers: dict | None = None) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "2s",
         *(["-H", f"Cookie: {cookie}"] if cookie else []),
         *[arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")],
         *(["-s", script] if script else []), url],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    # wrk gives up on a request after --timeout (2 s) and counts it as a timeout.
    result = {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "errors": (int(bad.group(1)) if bad else 0) + (
            sum(int(n) for n in errors.groups()[:3]) if errors else 0),
        "over_2s": int(errors.group(4)) if errors else 0,
        "max_ms": _ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)),
    }
    for q in (50, 90, 99):
        result[f"p{q}_ms"] = _ms(re.search(rf"^\s+{q}%\s+(\S+)", out, re.M).group(1))
    return result


def _python_load(url: str, cookie: str, seconds: int, connections: int,
                 script: str | None = None, headers: dict | None = None) -> dict:
    extra = dict(headers or {})
    # `script` (a wrk Lua file) means a POST of SUBMIT_BODY, as bench/wrk_submit.lua sends.
    method, body = ("POST", SUBMIT_BODY) if script else ("GET", None)
    parts = urlsplit(url)
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    bad = [0] * connections

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < stop:
            began = time.perf_counter()
            headers = {**({"Cookie": cookie} if cookie else {}), **extra}
            if body:
                headers["Content-Type"] = "application/json"
            conn.request(method, parts.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies[i].append((time.perf_counter() - began) * 1000)
            bad[i] += response.status >= 300
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    samples = [x for per in latencies for x in per]
    return {"requests": len(samples), "rps": len(samples) / (time.monotonic() - began),
            "errors": sum(bad),
            "over_2s": sum(x > 2000 for x in samples), "max_ms": max(samples),
            **{f"p{q}_ms": common.pct(samples, q) for q in (50, 90, 99)}}


def _latency_rows(route: str, result: dict, goal_ms: float | None) -> list[dict]:
    figures = (f"p50 {result['p50_ms']:.1f}, p90 {result['p90_ms']:.1f}, "
               f"max {result['max_ms']:.0f} ms, {result['over_2s']} over 2 s")
    return [
        common.row(f"api_{route}_p50 (32 conns)", result["p50_ms"], "ms", None,
                   f"info: {figures}", None),
        common.row(f"api_{route}_p99 (32 conns)", result["p99_ms"], "ms", None,
                   f"<= {goal_ms:g} ms, none over 2 s" if goal_ms else "info",
                   result["p99_ms"] <= goal_ms and result["over_2s"] == 0 if goal_ms else None),
    ]


def _server_cpu(server) -> float:
    """CPU seconds (user + system) the server's gunicorn processes have used so far."""
    total = 0.0
    root = psutil.Process(server.proc.pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _measured(load, server, url: str, cookie: str, seconds: int, connections: int,
              script: str | None = None) -> dict:
    """load(), plus the server's CPU microseconds per request: unlike req/s, this
    hardly moves with what else the machine is running."""
    before = _server_cpu(server)
    result = load(url, cookie, seconds, connections, script)
    result["cpu_us"] = (_server_cpu(server) - before) * 1e6 / max(1, result["requests"])
    return result


def _sequential_submits(url: str, cookie: str, n: int) -> list[float]:
    """Milliseconds per POST /api/generate, one at a time, a new connection each."""
    parts = urlsplit(url)
    out = []
    for i in range(n + 5):
        time.sleep(0.005)  # at idle: nothing of the previous request still running
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        conn.connect()
        began = time.perf_counter()
        conn.request("POST", "/api/generate", body=SUBMIT_BODY,
                     headers={"Cookie": cookie, "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - began) * 1000
        conn.close()
        if response.status != 202:
            raise RuntimeError(f"submit answered {response.status}")
        if i >= 5:
            out.append(elapsed)
    return out


def _sequential_gets(url: str, n: int) -> list[float]:
    parts = urlsplit(url)
    out = []
    for i in range(n + 5):
        time.sleep(0.005)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        conn.connect()
        began = time.perf_counter()
        conn.request("GET", parts.path)
        conn.getresponse().read()
        elapsed = (time.perf_counter() - began) * 1000
        conn.close()
        if i >= 5:
            out.append(elapsed)
    return out


def _flush_queue() -> None:
    """Drop the jobs and messages a submit run queued (no worker consumes them).

    The sessions and limits DBs stay: the load's cookie keeps its session.
    """
    import redis

    from tasks.config.settings import get_settings

    settings = get_settings()
    for concern in ("broker", "results", "jobs"):
        redis.Redis.from_url(settings.redis_url_for(concern)).flushdb()


def run(quick: bool = False) -> list[dict]:
    seconds = 3 if quick else 8
    rounds = 1 if quick else 2
    connections = 32
    load = _wrk if shutil.which("wrk") else _python_load
    tool = "wrk" if load is _wrk else "python"
    common.flush()
    r = {"health": [], "bare": [], "status": [], "submit": []}
    with common.api(workers=2) as server, \
            common.api(workers=2, app="bench.bare_app:create_app()") as bare:
        s = requests.Session()
        s.post(f"{server.url}/api/generate", json={"prompt": "bench", "duration": 30},
               timeout=10).raise_for_status()
        cookie = f"session_id={s.cookies['session_id']}"
        assert requests.get(f"{bare.url}/bare", timeout=10).status_code == 200
        # At idle first: the load rounds below leave work behind them.
        n = 50 if quick else 300
        seq_submit = _sequential_submits(server.url, cookie, n)
        seq_bare = _sequential_gets(f"{bare.url}/bare", n)
        _flush_queue()
        # The polled job: queued (no worker runs), the costliest status to show.
        resp = s.post(f"{server.url}/api/generate", json={"prompt": "bench", "duration": 30},
                      timeout=10)
        resp.raise_for_status()
        job_id = resp.json()["job_id"]
        assert s.get(f"{server.url}/api/jobs/{job_id}", timeout=10).status_code == 200
        urls = {"health": (server, f"{server.url}/health", ""),
                "bare": (bare, f"{bare.url}/bare", ""),
                "status": (server, f"{server.url}/api/jobs/{job_id}", cookie)}
        for _, url, c in urls.values():  # warm-up
            load(url, c, 1, connections)
        # Interleaved rounds, best of each route: a neighbour's burst on this
        # shared machine then hurts one round, not one route.
        for _ in range(rounds):
            for name, (srv, url, c) in urls.items():
                r[name].append(_measured(load, srv, url, c, seconds, connections))
        submit_url = f"{server.url}/api/generate"
        for _ in range(rounds):
            r["submit"].append(
                _measured(load, server, submit_url, cookie, seconds, 8, str(WRK_SUBMIT)))
            _flush_queue()
    common.flush()
    best = {name: max(results, key=lambda x: x["rps"]) for name, results in r.items()}
    status, base, bare_get, submit = best["status"], best["health"], best["bare"], best["submit"]
    bad = status["errors"] + status["over_2s"]
    base_bad = base["errors"] + base["over_2s"]
    p50, p99 = common.pct(seq_submit, 50), common.pct(seq_submit, 99)
    bare50, bare99 = common.pct(seq_bare, 50), common.pct(seq_bare, 99)
    submit_bad = submit["errors"] + submit["over_2s"]
    return [
        common.row(
            f"api_job_status_rps ({tool}, {connections} conns)", status["rps"], "req/s",
            base["rps"], f">= {GOAL}x /health, 0 errors (got {bad + base_bad})",
            status["rps"] >= GOAL * base["rps"] and bad == 0 and base_bad == 0,
        ),
        common.row(
            "api_job_status_vs_bare_redis_get", status["rps"], "req/s", bare_get["rps"],
            "info: baseline a bare Flask route doing one Redis GET (same gunicorn config)",
            None,
        ),
        common.row(
            "api_health_vs_bare_redis_get", base["rps"], "req/s", bare_get["rps"],
            "info", None,
        ),
        common.row("api_job_status_cpu_per_request", status["cpu_us"], "us", base["cpu_us"],
                   "info: gunicorn CPU per request, baseline /health (the rps ratio an idle "
                   "machine allows is about baseline/figure)", None),
        common.row("api_bare_redis_get_cpu_per_request", bare_get["cpu_us"], "us",
                   base["cpu_us"], "info: baseline /health", None),
        common.row("api_submit_cpu_per_request", submit["cpu_us"], "us", bare_get["cpu_us"],
                   "info: baseline the bare Redis GET route", None),
        *_latency_rows("health", base, None),
        *_latency_rows("bare_redis_get", bare_get, None),
        *_latency_rows("job_status", status, P99_GOAL_MS),
        common.row("api_submit_p50 (sequential, new connection each)", p50, "ms", bare50,
                   f"<= {SUBMIT_P50_MS:g} ms (baseline: bare Redis GET route, same way)",
                   p50 <= SUBMIT_P50_MS),
        common.row("api_submit_p99 (sequential, new connection each)", p99, "ms", bare99,
                   f"<= {SUBMIT_P99_MS:g} ms", p99 <= SUBMIT_P99_MS),
        common.row(
            f"api_submit_sustained ({tool}, 8 conns, limits lifted)", submit["rps"],
            "submits/s", bare_get["rps"],
            f">= {SUBMIT_RPS:g}/s, 0 errors (got {submit_bad}; p99 {submit['p99_ms']:.0f} ms)",
            submit["rps"] >= SUBMIT_RPS and submit_bad == 0,
        ),
    ]
