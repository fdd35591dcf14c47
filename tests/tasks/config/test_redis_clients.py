"""Every Redis client goes through Sentinel when REDIS_SENTINELS is set, and follows a failover.

A real primary + replica + sentinel of the test's own (tests/support/sentinel.py).
"""

from __future__ import annotations

import time

import redis

from tasks.config.settings import REDIS_DB_OFFSETS
from tests.support.services import wait_for

pytestmark = __import__("pytest").mark.slow


def writes(fn) -> bool:
    try:
        fn()
        return True
    except redis.RedisError:
        return False


def test_every_concern_reaches_the_primary_through_the_sentinels(sentinel_set, make_settings):
    from tasks.app import init_celery
    from tasks.config.redis_clients import probe_redis_for, redis_for
    from web import create_app

    settings = make_settings(**sentinel_set.settings_fields(base_db=0))
    primary = sentinel_set.primary()
    for concern in REDIS_DB_OFFSETS:
        redis_for(settings, concern).set(f"probe:{concern}", concern)
        db = REDIS_DB_OFFSETS[concern]
        assert primary.client(db=db).get(f"probe:{concern}") == concern.encode(), concern
        assert probe_redis_for(settings, concern).get(f"probe:{concern}") == concern.encode()

    # Celery: the broker and the result backend over sentinel:// URLs.
    app = init_celery(settings)
    assert app.conf.broker_url.startswith("sentinel://")
    assert app.conf.broker_transport_options["master_name"] == "music"
    assert app.conf.result_backend_transport_options["master_name"] == "music"
    with app.connection_for_write() as conn:
        conn.default_channel.client.lpush("probe:broker-list", "x")
    assert primary.client(db=0).llen("probe:broker-list") == 1
    app.backend.set("probe:result", "done")
    assert primary.client(db=1).get("probe:result") == b"done"

    # The API: sessions, rate limits and jobs, all on the primary.
    flask_app = create_app(settings)
    client = flask_app.test_client()
    r = client.post("/api/generate", json={"prompt": "sentinel piano", "duration": 30})
    assert r.status_code == 202, r.data
    job_id = r.get_json()["job_id"]
    assert primary.client(db=2).exists(f"job:{job_id}")
    assert primary.client(db=3).dbsize() >= 1  # the session
    assert primary.client(db=4).dbsize() >= 1  # the rate-limit windows
    from web.extensions import limiter

    assert type(limiter.storage).__name__ == "RedisSentinelStorage"
    assert primary.client(db=0).llen("music") + sum(
        primary.client(db=0).llen(f"music\x06\x16{p}") for p in range(1, 10)) == 1


def test_a_client_follows_the_primary_through_a_failover(sentinel_set, make_settings):
    from tasks.config.redis_clients import RECHECK_SECONDS, redis_for

    settings = make_settings(**sentinel_set.settings_fields(base_db=0))
    jobs = redis_for(settings, "jobs")
    jobs.set("before", "1")
    old = sentinel_set.primary_port()
    new = sentinel_set.failover()
    assert new != old
    # A forced failover leaves the old primary up, still taking writes, until
    # the sentinels demote it seconds later. The same client object (no
    # restart) must not write there meanwhile: its pool re-asks the sentinels
    # (FollowingPool) and drops its idle connection to the old primary.
    time.sleep(RECHECK_SECONDS)
    assert sentinel_set.role(sentinel_set.node(old)) == "master"  # not demoted yet
    wait_for(lambda: writes(lambda: jobs.set("after", "2")), timeout=15,
             what="a write after the failover")
    assert sentinel_set.node(new).client(db=2).get("after") == b"2"
    assert sentinel_set.node(old).client(db=2).get("after") is None
    assert sentinel_set.node(new).client(db=2).get("before") == b"1"  # replicated
