"""Abuse drills against a real gunicorn server (2 gevent workers), each asserting its figure.

- 2,000 HEAD requests on an event stream: open subscriptions (the
  music_event_subscriptions gauge, summed over workers) back to where they were,
  and no stream slot left held.
- 500 cookie-less reads: not one session key written to Redis.
- Stream cap: a session's 9th open stream is refused (429), and slots come back
  when streams close.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from tests.support.services import ApiServer, wait_for

pytestmark = pytest.mark.drill

CAP_PER_SESSION = 8


@pytest.fixture(scope="module")
def api(tmp_path_factory, _session_env):
    env = {
        **os.environ,
        "MAX_STREAMS_PER_SESSION": str(CAP_PER_SESSION),
        "MAX_STREAMS_PER_IP": "32",
        "RATE_LIMIT_READ_IP": "100000/minute",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = ApiServer(env, tmp_path_factory.mktemp("abuse") / "gunicorn.log").start()
    yield server
    server.stop()


def open_subscriptions(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    values = re.findall(r"^music_event_subscriptions(?:\{[^}]*\})? (\S+)$", text, re.M)
    assert values, "no music_event_subscriptions gauge in /metrics"
    return sum(float(v) for v in values)


def held_slots(settings) -> int:
    r = redis.Redis.from_url(settings.redis_url_for("limits"))
    return sum(r.zcard(key) for key in r.scan_iter("streams:*"))


def queued_job(url: str) -> tuple[requests.Session, str]:
    owner = requests.Session()
    r = owner.post(f"{url}/api/generate", json={"prompt": "drill", "duration": 30}, timeout=10)
    assert r.status_code == 202, r.text
    return owner, r.json()["job_id"]


def test_head_flood_leaves_no_subscription(api, settings, no_worker):
    owner, job_id = queued_job(api.url)
    before = open_subscriptions(api.url)
    url = f"{api.url}/api/jobs/{job_id}/events"
    cookies = owner.cookies.get_dict()

    def heads(n: int) -> list[int]:
        with requests.Session() as s:
            s.cookies.update(cookies)
            return [s.head(url, timeout=10).status_code for _ in range(n)]

    began = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = [c for batch in pool.map(heads, [250] * 8) for c in batch]
    elapsed = time.monotonic() - began
    assert len(codes) == 2000 and set(codes) == {200}
    wait_for(lambda: open_subscriptions(api.url) == before, timeout=10,
             what="open subscriptions back to their level before the flood")
    after = open_subscriptions(api.url)
    print(f"\n2000 HEAD in {elapsed:.1f}s: open subscriptions {before:g} -> {after:g}, "
          f"stream slots held {held_slots(settings)}")
    assert after == before == 0
    assert held_slots(settings) == 0


def test_cookieless_reads_write_no_session(api, settings, no_worker):
    owner, job_id = queued_job(api.url)
    sessions = redis.Redis.from_url(settings.redis_url_for("sessions"))
    before = sessions.dbsize()
    paths = ["/api/jobs", f"/api/jobs/{job_id}", "/api/jobs/nosuchjob123",
             f"/api/audio/{job_id}", f"/api/jobs/{job_id}/events"]
    codes: dict[int, int] = {}
    cookies_issued = 0
    for n in range(500):
        r = requests.get(api.url + paths[n % len(paths)], timeout=10)  # no cookie jar
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
        cookies_issued += "session_id=" in r.headers.get("Set-Cookie", "")
    created = sessions.dbsize() - before
    print(f"\n500 cookie-less reads: statuses {codes}, session keys created {created}, "
          f"cookies issued {cookies_issued}")
    assert set(codes) <= {200, 403, 404} and sum(codes.values()) == 500
    assert created == 0 and cookies_issued == 0


def test_ninth_stream_of_a_session_is_refused(api, settings, no_worker):
    owner, job_id = queued_job(api.url)
    url = f"{api.url}/api/jobs/{job_id}/events"
    streams = []
    try:
        for _ in range(CAP_PER_SESSION):
            r = owner.get(url, stream=True, timeout=10)
            assert r.status_code == 200
            streams.append(r)
        ninth = owner.get(url, stream=True, timeout=10)
        assert ninth.status_code == 429, ninth.status_code
        assert "already has 8 open event streams" in ninth.json()["detail"]
        assert ninth.headers["Retry-After"]
        held = held_slots(settings)
        streams.pop().close()
        closed_at = time.monotonic()
        # The server learns of the disconnect at its next write to that stream
        # (keep-alives every 15 s; the first write after a close may still be
        # accepted by the kernel, so up to two), and frees the slot then.
        wait_for(lambda: held_slots(settings) < held, timeout=40, interval=0.2,
                 what="a slot to come back after a close")
        freed_after = time.monotonic() - closed_at
        again = owner.get(url, stream=True, timeout=10)
        streams.append(again)
        assert again.status_code == 200
    finally:
        for r in streams:
            r.close()
    wait_for(lambda: held_slots(settings) == 0, timeout=40, what="all slots back")
    wait_for(lambda: open_subscriptions(api.url) == 0, timeout=10, what="subscriptions back")
    print(f"\nstream cap: {CAP_PER_SESSION} open, 9th -> 429; slots held at cap {held} "
          f"(session + ip), one freed {freed_after:.1f}s after its client closed, "
          f"after closing all {held_slots(settings)}")
    assert held == 2 * CAP_PER_SESSION
