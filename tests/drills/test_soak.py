"""Drill: SOAK_SECONDS (default 600) of mixed traffic against gunicorn + 2 workers.

Clients, each with its own session and its own address (X-Forwarded-For behind
TRUSTED_PROXY_COUNT=1), generate within the limits, poll, open event streams
(GET read to the end or dropped early, HEAD), download with Range, cancel, and
mix in forged cookies and malformed bodies. Asserted: zero 5xx, RSS of the API
workers and of each Celery worker grows < 20 MB after warm-up, every API
process's open subscriptions return to zero, and Redis key counts stay
bounded. 429s are allowed and counted.

    SOAK_SECONDS=90 make drills PYTEST_ARGS="tests/drills/test_soak.py -s"
"""

from __future__ import annotations

import collections
import os
import random
import re
import threading
import time

import psutil
import pytest
import redis
import requests

from tasks.config.settings import REDIS_DB_OFFSETS
from tests.support.services import ApiServer, Worker, wait_for

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
WARMUP = max(20.0, SECONDS * 0.2)
CLIENTS = 8
MAX_ACTIVE = 3  # per client; below the per-session cap of 5
RSS_GROWTH_LIMIT = 20 * 2**20
SAMPLE_EVERY = 5.0
ENV = {
    "ENGINE": "fixed",
    "FIXED_ENGINE_MS": "400",
    "FIXED_ENGINE_STEPS": "4",
    "TRUSTED_PROXY_COUNT": "1",
    "RATE_LIMIT_SESSION": "20/minute",
    "RATE_LIMIT_IP": "40/minute",
    "RATE_LIMIT_READ_IP": "6000/minute",
}
MALFORMED = [
    (b'{"prompt": "unterminated', "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b'{"prompt": 42}', "application/json"),
    (b'{"prompt": "x", "duration": "long"}', "application/json"),
    (b'{"prompt": "' + b"a" * 600 + b'"}', "application/json"),
    (b'{"prompt": "\\ud800"}', "application/json"),
    (b"[" * 8000, "application/json"),
    (b"prompt=hello", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00garbage", "application/json"),
]
SUBSCRIPTIONS = re.compile(r'^music_event_subscriptions\{pid="(\d+)"\} ([\d.e+-]+)$', re.M)


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.codes: collections.Counter = collections.Counter()
        self.server_errors: list[str] = []
        self.transport_errors: collections.Counter = collections.Counter()
        self.submitted = 0

    def record(self, kind: str, response: requests.Response) -> None:
        with self.lock:
            self.codes[(kind, response.status_code)] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{kind} {response.status_code} {response.text[:200]}")

    def failed(self, kind: str, exc: Exception) -> None:
        with self.lock:
            self.transport_errors[f"{kind}: {type(exc).__name__}"] += 1


class Client:
    """One browser-like user: its own session cookie and its own address."""

    def __init__(self, url: str, index: int, tally: Tally, stop: float) -> None:
        self.url = url
        self.tally = tally
        self.stop = stop
        self.rng = random.Random(index)
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = f"198.51.100.{index + 1}"
        self.jobs: list[str] = []
        self.next_submit = 0.0

    def call(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        kwargs.setdefault("timeout", 30)
        try:
            response = self.http.request(method, self.url + path, **kwargs)
        except requests.RequestException as exc:
            self.tally.failed(kind, exc)
            return None
        self.tally.record(kind, response)
        return response

    def run(self) -> None:
        actions = [self.generate, self.poll, self.poll, self.poll, self.list_jobs, self.stream,
                   self.head_stream, self.download, self.cancel, self.forged, self.malformed]
        while time.monotonic() < self.stop:
            self.rng.choice(actions)()
            time.sleep(self.rng.uniform(0.02, 0.2))

    def active(self, recent: int = 10) -> int:
        active = 0
        for job_id in self.jobs[-recent:]:
            r = self.call("poll", "GET", f"/api/jobs/{job_id}")
            active += r is not None and r.status_code == 200 and r.json()["status"] in (
                "queued", "started")
        return active

    def generate(self) -> None:
        # The guide's pace (a few per minute), never more than MAX_ACTIVE outstanding.
        if time.monotonic() < self.next_submit or self.active() >= MAX_ACTIVE:
            return
        self.next_submit = time.monotonic() + self.rng.uniform(2.0, 5.0)
        r = self.call("generate", "POST", "/api/generate",
                      json={"prompt": f"soak {self.rng.random():.6f}",
                            "duration": self.rng.choice([30, 60, 120])})
        if r is not None and r.status_code == 202:
            self.jobs.append(r.json()["job_id"])
            with self.tally.lock:
                self.tally.submitted += 1

    def some_job(self) -> str | None:
        return self.rng.choice(self.jobs[-10:]) if self.jobs else None

    def poll(self) -> None:
        if job_id := self.some_job():
            self.call("poll", "GET", f"/api/jobs/{job_id}")

    def list_jobs(self) -> None:
        self.call("list", "GET", "/api/jobs")

    def stream(self) -> None:
        job_id = self.some_job()
        if job_id is None:
            return
        r = self.call("stream", "GET", f"/api/jobs/{job_id}/events", stream=True, timeout=10)
        if r is None:
            return
        try:
            if r.status_code == 200 and self.rng.random() < 0.5:
                for _ in r.iter_lines():  # to the end: the job's terminal event
                    pass
            elif r.status_code == 200:
                next(r.iter_lines(), None)  # then hang up mid-stream
        except requests.RequestException as exc:
            self.tally.failed("stream-read", exc)
        finally:
            r.close()

    def head_stream(self) -> None:
        if job_id := self.some_job():
            self.call("head", "HEAD", f"/api/jobs/{job_id}/events")

    def download(self) -> None:
        job_id = self.some_job()
        if job_id is None:
            return
        ranges = [None, "bytes=0-1023", "bytes=-512", "bytes=100-", "bytes=0-0",
                  "bytes=99999999-"]
        rng = self.rng.choice(ranges)
        self.call("download", "GET", f"/api/audio/{job_id}",
                  headers={"Range": rng} if rng else {})

    def cancel(self) -> None:
        if self.jobs and self.rng.random() < 0.3:
            self.call("cancel", "DELETE", f"/api/jobs/{self.jobs[-1]}")

    def forged(self) -> None:
        job_id = self.some_job() or "AAAAAAAAAAAA"
        cookie = "".join(self.rng.choice("abcdefXYZ0123-_") for _ in range(43))
        try:
            r = requests.get(f"{self.url}/api/jobs/{job_id}", timeout=30,
                             headers={"Cookie": f"session_id={cookie}",
                                      "X-Forwarded-For": self.http.headers["X-Forwarded-For"]})
        except requests.RequestException as exc:
            self.tally.failed("forged", exc)
            return
        self.tally.record("forged", r)

    def malformed(self) -> None:
        index = self.rng.randrange(len(MALFORMED))
        body, content_type = MALFORMED[index]
        self.call(f"malformed{index}", "POST", "/api/generate", data=body,
                  headers={"Content-Type": content_type})


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for p in processes:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _median(samples: list[dict], name: str) -> int:
    values = sorted(s["rss"][name] for s in samples)
    return values[len(values) // 2]


def _subscriptions(url: str) -> dict[str, float]:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return {pid: float(value) for pid, value in SUBSCRIPTIONS.findall(text)}


@pytest.mark.drill  # SOAK_SECONDS long: `make drills`
@pytest.mark.timeout(SECONDS + 300)  # the suite's 300 s default would cut the soak short
def test_soak_mixed_traffic(tmp_path, settings):
    env = {**os.environ, **ENV, "STORAGE_URL": (tmp_path / "audio").as_uri()}
    workers = [Worker(env, f"soak{i}", tmp_path / f"worker{i}.log", queues="music").start()
               for i in range(2)]
    api = ApiServer(env, tmp_path / "gunicorn.log", workers=2).start()
    dbs = {concern: redis.Redis.from_url(settings.redis_url_for(concern))
           for concern in REDIS_DB_OFFSETS}
    samples: list[dict] = []
    tally = Tally()
    began = time.monotonic()
    stop = began + SECONDS
    done = threading.Event()

    def groups() -> dict[str, list[psutil.Process]]:
        api_workers = psutil.Process(api.proc.pid).children()
        return {"api": api_workers, **{w.name: _tree(w.proc.pid) for w in workers}}

    def sample() -> None:
        while not done.wait(SAMPLE_EVERY):
            samples.append({
                "t": time.monotonic() - began,
                "rss": {name: _rss(procs) for name, procs in groups().items()},
                "keys": {concern: db.dbsize() for concern, db in dbs.items()},
            })

    try:
        monitor = threading.Thread(target=sample, daemon=True)
        monitor.start()
        clients = [Client(api.url, i, tally, stop) for i in range(CLIENTS)]
        threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 120)
        assert not any(t.is_alive() for t in threads), "a client hung"

        # Let the last jobs end so every stream sees its terminal event.
        def drained() -> bool:
            return not any(c.active(len(c.jobs)) for c in clients)

        wait_for(drained, timeout=120, interval=1, what="the soak's jobs to end")
        subscriptions = _subscriptions(api.url)
        try:
            wait_for(lambda: not any(_subscriptions(api.url).values()), timeout=30,
                     interval=0.5, what="open subscriptions back to zero")
        except TimeoutError:
            pass  # asserted below, with the figures printed first
        subscriptions = _subscriptions(api.url)
    finally:
        done.set()
        api.stop()
        for w in workers:
            w.stop()

    after = [s for s in samples if s["t"] >= WARMUP]
    assert len(after) >= 2, "run too short to judge growth after warm-up"
    start, end = after[0], after[-1]
    # Medians of three samples: a pool child being replaced (old and new alive
    # for a moment) is not growth.
    growth = {name: _median(after[-3:], name) - _median(after[:3], name) for name in start["rss"]}
    peak_keys = {c: max(s["keys"][c] for s in samples) for c in dbs}
    codes = collections.Counter()
    for (_kind, code), n in tally.codes.items():
        codes[code] += n
    print(f"\nsoak {SECONDS}s, {CLIENTS} clients: {sum(codes.values())} requests "
          f"({sum(codes.values()) / SECONDS:.0f}/s), {tally.submitted} jobs accepted")
    print(f"  status codes: {dict(sorted(codes.items()))}; 429s: {codes[429]}")
    print(f"  per kind: {dict(sorted(tally.codes.items()))}")
    print(f"  transport errors: {dict(tally.transport_errors)}")
    print("  RSS after warm-up (MB): " + ", ".join(
        f"{n} {start['rss'][n] / 2**20:.1f} -> {end['rss'][n] / 2**20:.1f} "
        f"(+{growth[n] / 2**20:.1f})" for n in growth))
    print("  Redis keys first/peak/last: " + ", ".join(
        f"{c} {samples[0]['keys'][c]}/{peak_keys[c]}/{samples[-1]['keys'][c]}" for c in dbs))
    print(f"  open subscriptions at the end: {subscriptions}")

    assert not tally.server_errors, tally.server_errors[:10]
    assert not tally.transport_errors, dict(tally.transport_errors)
    assert not any(subscriptions.values()), subscriptions
    for name, grew in growth.items():
        assert grew < RSS_GROWTH_LIMIT, f"{name} RSS grew {grew / 2**20:.1f} MB"
    # Keys follow what was created, never the number of requests: job records
    # (a few per job), one session per client, a limiter window per identity.
    assert peak_keys["jobs"] <= 4 * tally.submitted + 50, peak_keys
    assert peak_keys["sessions"] <= 2 * CLIENTS + 10, peak_keys
    assert peak_keys["limits"] <= 10 * CLIENTS + 50, peak_keys
    assert peak_keys["results"] <= 2 * tally.submitted + 50, peak_keys
    assert peak_keys["broker"] <= 50, peak_keys
