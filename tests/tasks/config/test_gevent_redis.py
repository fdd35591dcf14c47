"""redis-py's zero-wait readiness check under gevent: the OS's poll, same answers.

Runs in a child process: monkey-patching is process-wide and must not reach
the rest of the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import TEST_REDIS_URL

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import sys, time
    import gevent, redis
    from tasks.config import gevent_redis
    from redis._parsers import hiredis

    assert gevent_redis.install() and gevent_redis.install()  # idempotent
    assert hiredis._socket_can_read.zero_wait_fast_path
    r = redis.Redis.from_url(sys.argv[1])
    r.set("gevent-redis:k", "v")
    assert r.get("gevent-redis:k") == b"v"

    # A connection returned with an unread reply is still caught and replaced:
    # the next command must not read that stale reply as its own.
    pool = r.connection_pool
    dirty = pool.get_connection()
    dirty.send_command("ECHO", "stale")
    time.sleep(0.05)  # the reply is in the socket by now
    pool.release(dirty)
    assert r.get("gevent-redis:k") == b"v"

    # A read that may wait still yields to the other greenlets.
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(30)])
    pubsub = r.pubsub()
    pubsub.subscribe("gevent-redis:quiet")
    while pubsub.get_message(timeout=0.3) is not None:
        pass  # the subscribe confirmation
    ticker.kill()
    assert len(ticks) >= 10, ticks
    r.delete("gevent-redis:k")
    print("ok")
""")


def test_zero_wait_checks_use_the_os_poll_and_keep_their_answers():
    out = subprocess.run([sys.executable, "-c", SCRIPT, TEST_REDIS_URL], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_nothing_changes_outside_gevent():
    from redis._parsers import hiredis

    from tasks.config import gevent_redis

    before = hiredis._socket_can_read
    assert gevent_redis.install() is False
    assert hiredis._socket_can_read is before
