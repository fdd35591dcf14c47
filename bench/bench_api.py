"""API throughput: GET /api/jobs/{id} vs GET /health on the same gunicorn.

gunicorn runs as in production (web/gunicorn_conf.py, gevent) with 2 workers.
The job is a real one submitted through POST /api/generate (no worker runs, so
it stays `queued`: the costliest status to show, one extra Redis call for the
queue position). Every status request carries the session cookie, as a
browser's would (ownership is checked against the server-side session in
Redis); the /health baseline carries none, so it is a bare Flask view with no
Redis call at all.

Load comes from `wrk` (keep-alive, 2 threads, 32 connections) when installed,
else from a bounded pool of Python threads on keep-alive http.client
connections. Both routes get the same load generator and duration; the ratio
is what counts. Non-2xx answers are counted and fail the row. Latency rows
give each route's p50 and p99 under that load (32 keep-alive connections);
a request slower than 2 s counts as an error, as wrk times it out.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import threading
import time
from urllib.parse import urlsplit

import requests

from bench import common

GOAL = 0.7
P99_GOAL_MS = 250


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def _wrk(url: str, cookie: str, seconds: int, connections: int,
         headers: dict | None = None) -> dict:
    headers = {**({"Cookie": cookie} if cookie else {}), **(headers or {})}
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "2s",
         *[arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")], url],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    # wrk gives up on a request after --timeout (2 s) and counts it as a timeout.
    result = {
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
                 headers: dict | None = None) -> dict:
    parts = urlsplit(url)
    headers = {**({"Cookie": cookie} if cookie else {}), **(headers or {})}
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    bad = [0] * connections

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < stop:
            began = time.perf_counter()
            conn.request("GET", parts.path, headers=headers)
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
    return {"rps": len(samples) / (time.monotonic() - began), "errors": sum(bad),
            "over_2s": sum(x > 2000 for x in samples), "max_ms": max(samples),
            **{f"p{q}_ms": common.pct(samples, q) for q in (50, 90, 99)}}


def _latency_rows(route: str, result: dict) -> list[dict]:
    figures = (f"p50 {result['p50_ms']:.1f}, p90 {result['p90_ms']:.1f}, "
               f"max {result['max_ms']:.0f} ms, {result['over_2s']} over 2 s")
    return [
        common.row(f"api_{route}_p50 (32 conns)", result["p50_ms"], "ms", None,
                   f"info: {figures}", None),
        common.row(f"api_{route}_p99 (32 conns)", result["p99_ms"], "ms", None,
                   f"<= {P99_GOAL_MS} ms, none over 2 s",
                   result["p99_ms"] <= P99_GOAL_MS and result["over_2s"] == 0),
    ]


def run(quick: bool = False) -> list[dict]:
    seconds = 3 if quick else 8
    connections = 32
    load = _wrk if shutil.which("wrk") else _python_load
    tool = "wrk" if load is _wrk else "python"
    common.flush()
    with common.api(workers=2) as server:
        s = requests.Session()
        r = s.post(f"{server.url}/api/generate", json={"prompt": "bench", "duration": 30},
                   timeout=10)
        r.raise_for_status()
        job_id = r.json()["job_id"]
        cookie = f"session_id={s.cookies['session_id']}"
        assert s.get(f"{server.url}/api/jobs/{job_id}", timeout=10).status_code == 200
        load(f"{server.url}/health", cookie, 1, connections)  # warm-up both routes
        load(f"{server.url}/api/jobs/{job_id}", cookie, 1, connections)
        # The baseline carries no cookie: a bare Flask view, no session load/save.
        base = load(f"{server.url}/health", "", seconds, connections)
        status = load(f"{server.url}/api/jobs/{job_id}", cookie, seconds, connections)
        # Same /health with the cookie: the session's Redis load+save on both sides,
        # so this ratio is the route's own cost (job lookup, ownership, view).
        with_session = load(f"{server.url}/health", cookie, seconds, connections)
    common.flush()
    bad, base_bad = status["errors"] + status["over_2s"], base["errors"] + base["over_2s"]
    return [
        common.row(
            f"api_job_status_rps ({tool}, {connections} conns)", status["rps"], "req/s",
            base["rps"], f">= {GOAL}x bare /health, 0 errors (got {bad + base_bad})",
            status["rps"] >= GOAL * base["rps"] and bad == 0 and base_bad == 0,
        ),
        common.row(
            "api_job_status_vs_health_with_session", status["rps"], "req/s",
            with_session["rps"],
            f"info: baseline /health + session cookie (errors {with_session['errors']})", None,
        ),
        *_latency_rows("health", base),
        *_latency_rows("job_status", status),
    ]
