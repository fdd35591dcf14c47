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
is what counts. Non-2xx answers are counted and fail the row.
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


def _wrk(url: str, cookie: str, seconds: int, connections: int) -> tuple[float, int]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s",
         *(["-H", f"Cookie: {cookie}"] if cookie else []), url],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return rps, (int(bad.group(1)) if bad else 0) + (
        sum(int(n) for n in errors.groups()) if errors else 0)


def _python_load(url: str, cookie: str, seconds: int, connections: int) -> tuple[float, int]:
    parts = urlsplit(url)
    stop = time.monotonic() + seconds
    counts = [0] * connections
    bad = [0] * connections

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", parts.path, headers={"Cookie": cookie} if cookie else {})
            response = conn.getresponse()
            response.read()
            counts[i] += 1
            bad[i] += response.status >= 300
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - began), sum(bad)


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
        base, base_bad = load(f"{server.url}/health", "", seconds, connections)
        rps, bad = load(f"{server.url}/api/jobs/{job_id}", cookie, seconds, connections)
        # Same /health with the cookie: the session's Redis load+save on both sides,
        # so this ratio is the route's own cost (job lookup, ownership, view).
        with_session, session_bad = load(f"{server.url}/health", cookie, seconds, connections)
    common.flush()
    return [
        common.row(
            f"api_job_status_rps ({tool}, {connections} conns)", rps, "req/s", base,
            f">= {GOAL}x bare /health, 0 errors (got {bad + base_bad})",
            rps >= GOAL * base and bad == 0 and base_bad == 0,
        ),
        common.row(
            "api_job_status_vs_health_with_session", rps, "req/s", with_session,
            f"info: baseline /health + session cookie (errors {session_bad})", None,
        ),
    ]
