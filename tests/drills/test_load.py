"""Drill: 200 concurrent clients poll job status for 30 s against gunicorn.

Zero 5xx (and zero connection errors) allowed; latency p50/p99 printed.
"""

from __future__ import annotations

import http.client
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

CLIENTS = 200
SESSIONS = 20
SECONDS = 30
THINK = 0.1  # pause between one client's polls


@pytest.mark.slow
def test_200_clients_polling_get_no_5xx(live_api, no_worker):
    targets = []
    for _ in range(SESSIONS):
        s = requests.Session()
        r = s.post(f"{live_api.url}/api/generate", json={"prompt": "drill: load"}, timeout=10)
        assert r.status_code == 202, r.text
        targets.append((r.json()["job_id"], f"session_id={s.cookies['session_id']}"))

    port = urlsplit(live_api.url).port
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    statuses: dict[int, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(i: int) -> None:
        job_id, cookie = targets[i % SESSIONS]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = latencies[i]
        while time.monotonic() < stop:
            began = time.perf_counter()
            try:
                conn.request("GET", f"/api/jobs/{job_id}", headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - began)
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
            time.sleep(THINK)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 60)

    samples = sorted(x for per in latencies for x in per)
    assert samples, "no request completed"
    p50 = samples[len(samples) // 2] * 1000
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
    print(f"\n{CLIENTS} clients x {SECONDS}s: {len(samples)} requests "
          f"({len(samples) / SECONDS:.0f}/s), statuses {statuses}, errors {len(errors)}, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {samples[-1] * 1000:.1f} ms")
    assert not errors, errors[:5]
    assert not [code for code in statuses if code >= 500], statuses
    assert set(statuses) == {200}, statuses
