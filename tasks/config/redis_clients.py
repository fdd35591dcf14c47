"""Redis clients per concern, with short timeouts so an outage fails fast.

The one place a Redis client is built. Plain mode: one pool per REDIS_URL DB.
Sentinel mode (REDIS_SENTINELS set): the same DB numbers on whichever node the
sentinels currently name primary (redis-py's `Sentinel.master_for`); a client
re-asks the sentinels whenever a connection to the primary has to be made again,
so it follows a failover without a restart.
"""

from __future__ import annotations

import threading
import time

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from tasks.config.settings import Settings

_clients: dict[str, redis.Redis] = {}
_sentinels: dict[tuple, Sentinel] = {}
_lock = threading.Lock()

# Every command here is small; 2 s means Redis is wedged (or, under Sentinel, a
# primary stopped but not yet replaced). The API must answer 503 within a few
# seconds (tests/web/test_redis_outage.py).
_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 2}
_PROBE_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}


# How often a Sentinel-backed pool re-asks the sentinels who is primary when it
# hands out a connection (one sentinel round trip, at most this often).
RECHECK_SECONDS = 1.0


class FollowingPool(SentinelConnectionPool):
    """A Sentinel pool that notices a new primary even on connections it already has.

    redis-py asks the sentinels only when it opens a connection, so an idle
    pooled connection to a primary that was stopped (not killed) and has been
    replaced would, once that process resumes, carry writes to it until the
    sentinels demote it (~10 s later), and the resync would then discard them.
    Re-asking at most once a second closes those idle connections as soon as
    the sentinels name the new primary (measured by `make failover-drill`).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._asked_at = 0.0

    def get_connection(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._asked_at >= RECHECK_SECONDS:
            self._asked_at = now
            try:
                # Closes the idle connections when the address changed.
                self.get_master_address()
            except redis.ConnectionError:
                pass  # no primary named right now: connecting will say so
        return super().get_connection(*args, **kwargs)


def _patient_retry() -> Retry:
    # A few quick reconnects (~0.35 s) ride out a stale pooled connection after
    # a Redis restart or a failover, not redis-py's default ~5 s; a read timeout
    # is not retried (it would multiply the wait). MasterNotFoundError (no
    # primary yet) is a ConnectionError, so it is retried the same few times.
    return Retry(ExponentialBackoff(cap=0.2, base=0.05), 3,
                 supported_errors=(redis.ConnectionError,))


def sentinel_for(settings: Settings) -> Sentinel:
    """The process's handle on the sentinels (one per sentinel set and password)."""
    key = (settings.redis_sentinels, settings.redis_sentinel_password, settings.redis_password())
    with _lock:
        sentinel = _sentinels.get(key)
        if sentinel is None:
            sentinel = Sentinel(
                list(settings.redis_sentinels),
                sentinel_kwargs=settings.sentinel_kwargs(),
                password=settings.redis_password(),
            )
            _sentinels[key] = sentinel
        return sentinel


def _cache_key(settings: Settings, concern: str, kind: str) -> str:
    if settings.uses_sentinel:
        where = f"sentinel:{settings.redis_sentinels}/{settings.redis_sentinel_master}"
        return f"{kind}:{where}/{settings.redis_db_for(concern)}"
    return f"{kind}:{settings.redis_url_for(concern)}"


def _cached(key: str, build) -> redis.Redis:
    """The process's client under `key`, built on first use."""
    with _lock:
        client = _clients.get(key)
    if client is None:
        client = build()
        with _lock:
            client = _clients.setdefault(key, client)
    return client


def probe_redis_for(settings: Settings, concern: str) -> redis.Redis:
    """A client that fails at once (no retries, one-second timeouts): for health checks."""
    def build() -> redis.Redis:
        options = dict(_PROBE_TIMEOUTS, retry=Retry(NoBackoff(), 0))
        if settings.uses_sentinel:
            return sentinel_for(settings).master_for(
                settings.redis_sentinel_master, db=settings.redis_db_for(concern), **options
            )
        return redis.Redis.from_url(settings.redis_url_for(concern), **options)

    return _cached(_cache_key(settings, concern, "probe"), build)


def redis_for(settings: Settings, concern: str) -> redis.Redis:
    """The process's client for one concern (broker, results, jobs, sessions, limits)."""
    # redis-py resets its pool after fork (it checks the pid), so one cached
    # client per concern is safe in prefork workers and gunicorn.
    def build() -> redis.Redis:
        options = dict(_TIMEOUTS, health_check_interval=15, retry_on_timeout=False,
                       retry=_patient_retry())
        if settings.uses_sentinel:
            # SentinelConnectionPool has no blocking variant: a burst past
            # max_connections fails (503) rather than waiting, so the cap is higher.
            return sentinel_for(settings).master_for(
                settings.redis_sentinel_master, db=settings.redis_db_for(concern),
                connection_pool_class=FollowingPool, max_connections=200, **options,
            )
        # A blocking pool makes a burst (every browser reconnecting its event
        # stream after a restart) wait briefly for a connection instead of
        # failing with MaxConnectionsError once 100 are in use.
        pool = redis.BlockingConnectionPool.from_url(
            settings.redis_url_for(concern), max_connections=100, timeout=5, **options
        )
        return redis.Redis(connection_pool=pool)

    return _cached(_cache_key(settings, concern, "main"), build)


def limits_storage_options(settings: Settings) -> dict:
    """Flask-Limiter's storage options, matching its RATELIMIT_STORAGE_URI."""
    if settings.uses_sentinel:
        return {
            "db": settings.redis_db_for("limits"),
            "password": settings.redis_password(),
            "sentinel_kwargs": settings.sentinel_kwargs(),
            # Counts read from a replica lag behind the primary: always the primary.
            "use_replicas": False,
            **_TIMEOUTS,
        }
    # Every read is rate limited, so a burst of pollers needs more than the
    # limits library's default pool; a blocking pool waits for a connection
    # instead of failing the request with "Too many connections" (a 503).
    return {"connection_pool": redis.BlockingConnectionPool.from_url(
        settings.redis_url_for("limits"), max_connections=100, timeout=5, **_TIMEOUTS,
    )}
