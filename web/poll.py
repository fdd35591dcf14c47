"""A job-status poll in one Redis round trip (web/lua/poll.lua).

Browsers poll job status every few seconds, so this read is the API's
hottest route. Through the read limiter's decorator it would cost a limiter
round trip before the record's own; here one script counts the caller's read
allowance on the very keys Flask-Limiter's read limiter uses (same
fixed-window strategy, so the allowance stays shared and exact with every
other read route) and returns the record with its queue rank.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import hiredis
import redis
from flask import current_app, g
from flask_limiter import Limiter
from limits import parse_many

from tasks.jobs.store import JOB_ID_RE, JobStore, redis_db
from web.errors import ApiError, rate_limited
from web.extensions import storage_key

_SCRIPT = (Path(__file__).parent / "lua" / "poll.lua").read_text()


class JobPoll:
    def __init__(self, jobs: JobStore, read_limiter: Limiter, limit_value: str, scope: str,
                 key_func) -> None:
        self.jobs = jobs
        self.limiter = read_limiter
        self.scope, self.key_func = scope, key_func
        # Flask-Limiter evaluates a route's limits in this order and stops at the first breach.
        self.items = sorted(parse_many(limit_value))
        self._script = jobs.r.register_script(_SCRIPT)
        # RATELIMIT_ENABLED=False leaves the limiter without storage: nothing is counted.
        limits_db = redis_db(read_limiter.storage.get_connection()) if read_limiter.enabled else 0
        self._dbs = (limits_db, redis_db(jobs.r))
        # Fixed-window keys hold no time, so a caller's keys and every limit's
        # (amount, expiry) are the same on each of its polls.
        self._limit_args = [n for item in self.items for n in (item.amount, item.get_expiry())]
        self._keys_of = functools.lru_cache(maxsize=4096)(self._build_counter_keys)

    def _build_counter_keys(self, caller: str) -> tuple[str, ...]:
        return tuple(storage_key(self.limiter, item, caller, self.scope) for item in self.items)

    def _counter_keys(self) -> tuple[str, ...]:
        return self._keys_of(self.key_func())

    def get(self, job_id: str) -> dict | None:
        """The record (None: no such job), after taking one read from the allowance.

        Raises ApiError(429) past the allowance, like the read limiter would.
        """
        valid = bool(JOB_ID_RE.match(job_id))
        job_key, queue = self.jobs.keys_for(job_id if valid else "-")
        limited = self.limiter.enabled
        counters = self._counter_keys() if limited else ()
        args = [job_id if valid else "", *self._dbs, *(self._limit_args if limited else ())]
        breached, count, ttl_ms, raw, rank = self._run([job_key, queue, *counters], args)
        if limited and self.items:  # what RateLimit headers report (web/auth.py)
            item = self.items[breached - 1] if breached else self.items[0]
            g.read_allowance = (item.amount, int(count), int(ttl_ms))
        if breached:
            item = self.items[breached - 1]
            retry = max(1, math.ceil(max(int(ttl_ms), 0) / 1000))
            raise ApiError(429, rate_limited(str(item)), {"Retry-After": str(retry)})
        return self.jobs.record_from(raw, rank)

    def _run(self, keys: list, args: list):
        """The script sent straight on a pooled connection: redis-py's client layer
        (retry wrapper, per-command hooks) cost about as much as the round trip
        itself. Anything unexpected goes through redis-py's own call instead, with
        its retries, NOSCRIPT reload and failover handling."""
        pool = self.jobs.r.connection_pool
        try:
            conn = pool.get_connection()
        except (redis.RedisError, OSError):
            return self._script(keys=keys, args=args)
        try:
            # hiredis packs str and int arguments itself: redis-py's per-argument
            # encoding took as long as the rest of the send.
            conn.send_packed_command(
                [hiredis.pack_command(("EVALSHA", self._script.sha, len(keys), *keys, *args))])
            return conn.read_response()
        except redis.ResponseError:
            pass  # e.g. NOSCRIPT; the connection is fine
        except redis.TimeoutError:
            # A Redis that stopped answering: asking again would only double the
            # wait before the 503 (tests/web/test_redis_outage.py).
            conn.disconnect()
            raise
        except (redis.RedisError, OSError):
            conn.disconnect()
        finally:
            pool.release(conn)
        return self._script(keys=keys, args=args)


def job_poll() -> JobPoll:
    return current_app.extensions["job_poll"]
