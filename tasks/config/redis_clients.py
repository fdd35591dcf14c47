"""Redis clients per concern, with short timeouts so an outage fails fast."""

from __future__ import annotations

import threading

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from tasks.config.settings import Settings

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def probe_redis_for(settings: Settings, concern: str) -> redis.Redis:
    """A client that fails at once (no retries, one-second timeouts): for health checks."""
    url = settings.redis_url_for(concern)
    with _lock:
        client = _clients.get("probe:" + url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
            )
            _clients["probe:" + url] = client
        return client


def redis_for(settings: Settings, concern: str) -> redis.Redis:
    url = settings.redis_url_for(concern)
    with _lock:
        client = _clients.get(url)
        if client is None:
            # redis-py resets its pool after fork (it checks the pid), so one
            # cached client per URL is safe in prefork workers and gunicorn.
            # A blocking pool makes a burst (every browser reconnecting its event
            # stream after a restart) wait briefly for a connection instead of
            # failing with MaxConnectionsError once 100 are in use.
            pool = redis.BlockingConnectionPool.from_url(
                url,
                max_connections=100,
                timeout=5,
                socket_connect_timeout=2,
                # Every command here is small; 2 s means Redis is wedged. The API
                # must answer 503 within a few seconds (tests/web/test_redis_outage.py).
                socket_timeout=2,
                health_check_interval=15,
                retry_on_timeout=False,
                # A few quick reconnects (~0.35 s) ride out a stale pooled
                # connection after a Redis restart, not redis-py's default ~5 s;
                # a read timeout is not retried (it would multiply the wait).
                retry=Retry(
                    ExponentialBackoff(cap=0.2, base=0.05),
                    3,
                    supported_errors=(redis.ConnectionError,),
                ),
            )
            client = redis.Redis(connection_pool=pool)
            _clients[url] = client
        return client
