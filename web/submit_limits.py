"""The submit route's rate limits, counted where the job is created.

Through Flask-Limiter's decorators, a submit paid one script call per limit
(the session's, then the network's), ~0.44 ms of CPU and two round trips of a
~1.5 ms request (bench/bench_api.py). Here they are counted, with the limits
library's moving window (tasks/jobs/moving_window.lua) on the very keys
Flask-Limiter would use (same storage, prefix, scope and key functions), by
the script that records and queues the job: no round trip of their own. A
submit refused before that script runs (a bad body, an edit's missing source)
counts in a script of its own (web/lua/submit_limits.lua), as it did under
Flask-Limiter. "5 per minute" still holds over any 60 s and `flask limiter`
tooling still sees the keys.

What changes (README, "Security and reliability limits"): a submit refused by
one limit is counted by none; Flask-Limiter had already counted the limits it
checked before the full one.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import current_app, g
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many

from tasks.jobs.store import redis_db
from tasks.jobs.windows import MOVING_WINDOW_LUA, Windows
from web.errors import ApiError, rate_limited
from web.extensions import storage_key

_SCRIPT = MOVING_WINDOW_LUA + (Path(__file__).parent / "lua" / "submit_limits.lua").read_text()
SCOPE = "generate.create"  # the endpoint: Flask-Limiter's scope for a route's own limits

Pairs = list[tuple[RateLimitItem, str]]


class SubmitLimits:
    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter
        self._script = None
        self._db: int | None = None  # the limiter's DB, once its storage is known
        self._parsed: dict[str, list[RateLimitItem]] = {}

    def _items(self, value: str) -> list[RateLimitItem]:
        if value not in self._parsed:
            self._parsed[value] = parse_many(value)
        return self._parsed[value]

    def windows(self, limits: list[tuple[str, str]],
                report: bool = False) -> tuple[Windows, Pairs] | None:
        """Every (limit value, key) in `limits` as the lists the limiter keeps, for the
        job's create script to take (tasks/jobs/windows.py); None: nothing to count."""
        if not self.limiter.enabled or not limits:
            return None
        # Flask-Limiter's order: by each limit's window, then amount.
        pairs = sorted(((item, key) for value, key in limits for item in self._items(value)),
                       key=lambda pair: pair[0])
        if self._db is None:
            self._db = redis_db(self.limiter.storage.get_connection())
        windows = Windows(
            db=self._db,
            keys=tuple(storage_key(self.limiter, item, key, SCOPE) for item, key in pairs),
            limits=tuple(n for item, _ in pairs for n in (item.amount, item.get_expiry())),
            now=time.time(), report=report,
        )
        return windows, pairs

    def take(self, limits: list[tuple[str, str]], report: bool = False) -> None:
        """Count one submit against every (limit value, key) in `limits` on its own: for a
        submit refused before its job's script runs. Raises as `refused` does; with
        `report`, leaves the first limit's allowance as `reported` does."""
        found = self.windows(limits, report)
        if found is None:
            return
        windows, pairs = found
        if self._script is None:
            self._script = self.limiter.storage.get_connection().register_script(_SCRIPT)
        full, oldest, count = self._script(keys=list(windows.keys), args=windows.args())
        if full:
            raise self.refused(pairs, int(full), float(oldest))
        if report:
            self.reported(pairs, float(oldest), int(count))

    @staticmethod
    def refused(pairs: Pairs, index: int, oldest: float) -> ApiError:
        """The 429 for the `index`-th (1-based) limit being full, with Retry-After."""
        item = pairs[index - 1][0]
        retry = max(1, int(oldest + item.get_expiry() - time.time()))
        return ApiError(429, rate_limited(str(item)), {"Retry-After": str(retry)})

    @staticmethod
    def reported(pairs: Pairs, oldest: float, count: int) -> None:
        """(amount, remaining, seconds to reset) of the first limit in
        `g.submit_allowance`, for the RateLimit headers (web/auth.py)."""
        item = pairs[0][0]
        reset_in = max(0.0, oldest + item.get_expiry() - time.time())
        g.submit_allowance = (item.amount, max(0, item.amount - count), reset_in)


def submit_limits() -> SubmitLimits:
    return current_app.extensions["submit_limits"]
