"""Redis goes away and comes back: the API answers 503 JSON fast, then recovers alone.

A private redis-server (AOF on, so records survive its restart) on a free port;
the app under test keeps all its Redis concerns there. Celery's broker stays the
test broker, so only the app's own Redis use is exercised.
"""

from __future__ import annotations

import time

import pytest

from tests.support.services import PrivateRedis, wait_for

pytestmark = pytest.mark.slow

FAST = 3.0  # seconds: an outage answer must come faster than this


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


def timed(fn):
    began = time.monotonic()
    response = fn()
    return response, time.monotonic() - began


def assert_unavailable(response, elapsed):
    assert response.status_code == 503, (response.status_code, response.data[:300])
    assert response.is_json and isinstance(response.get_json()["detail"], str)
    assert elapsed < FAST, f"took {elapsed:.2f}s"


def test_outage_answers_503_fast_and_recovers(private_redis, make_settings, no_worker):
    from tasks.config.services import job_store
    from web import create_app

    settings = make_settings(redis_url=private_redis.url)
    app = create_app(settings)
    client = app.test_client()  # the user, with a session cookie
    probe = app.test_client()  # a load balancer: no cookie
    jobs = job_store(settings)

    r = client.post("/api/generate", json={"prompt": "calm piano", "duration": 30})
    assert r.status_code == 202, r.data
    job_id = r.get_json()["job_id"]
    assert client.get(f"/api/jobs/{job_id}").status_code == 200
    jobs.heartbeat("fake@worker")
    assert probe.get("/health/ready").status_code == 200

    private_redis.stop()

    r, elapsed = timed(lambda: client.post("/api/generate", json={"prompt": "x", "duration": 30}))
    assert_unavailable(r, elapsed)
    r, elapsed = timed(lambda: client.get(f"/api/jobs/{job_id}"))
    assert_unavailable(r, elapsed)
    r, elapsed = timed(lambda: probe.get("/health/ready"))
    assert_unavailable(r, elapsed)
    body = r.get_json()
    assert body["checks"]["redis"].startswith("failed")
    assert body["checks"]["storage"] == "ok"
    assert "redis" in body["detail"]
    print(f"\n/health/ready with Redis down answered in {elapsed * 1000:.0f} ms")
    # Liveness does not depend on Redis (probes send no session cookie).
    assert probe.get("/health").get_json() == {"status": "healthy", "version": "1.0.0"}
    # Metrics still render, saying Redis is down.
    r, elapsed = timed(lambda: probe.get("/metrics"))
    assert r.status_code == 200 and b"music_redis_up 0.0" in r.data and elapsed < FAST

    private_redis.start()
    restarted = time.monotonic()

    def recovered():
        response = client.get(f"/api/jobs/{job_id}")
        return response if response.status_code == 200 else None

    r = wait_for(recovered, timeout=10, interval=0.05, what="API recovery")
    print(f"API answered 200 again {1000 * (time.monotonic() - restarted):.0f} ms after restart")
    assert r.get_json()["job_id"] == job_id  # same session, same record (AOF)
    r = client.post("/api/generate", json={"prompt": "after the storm", "duration": 30})
    assert r.status_code == 202
    jobs.heartbeat("fake@worker")
    assert probe.get("/health/ready").status_code == 200


def test_frozen_redis_answers_503_within_a_few_seconds(private_redis, make_settings, no_worker):
    """SIGSTOP: connections hang instead of being refused (a wedged or unreachable host)."""
    import os
    import signal

    from web import create_app

    app = create_app(make_settings(redis_url=private_redis.url))
    client, probe = app.test_client(), app.test_client()
    r = client.post("/api/generate", json={"prompt": "calm piano", "duration": 30})
    assert r.status_code == 202
    job_id = r.get_json()["job_id"]

    os.kill(private_redis.proc.pid, signal.SIGSTOP)
    try:
        r, elapsed = timed(lambda: client.get(f"/api/jobs/{job_id}"))
        print(f"\nGET /api/jobs/{{id}} with Redis frozen: {r.status_code} in {elapsed:.2f}s")
        r2, elapsed2 = timed(lambda: probe.get("/health/ready"))
        print(f"/health/ready with Redis frozen: {r2.status_code} in {elapsed2:.2f}s")
        assert_unavailable(r2, elapsed2)
        assert_unavailable(r, elapsed)
    finally:
        os.kill(private_redis.proc.pid, signal.SIGCONT)
    r = wait_for(lambda: (x := client.get(f"/api/jobs/{job_id}")).status_code == 200 and x,
                 timeout=10, what="recovery after SIGCONT")
    assert r.get_json()["job_id"] == job_id
