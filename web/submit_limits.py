"""The submit route's rate limits in one Redis round trip (web/lua/submit_limits.lua).

Through Flask-Limiter's decorators, a submit paid one script call per limit
(the session's, then the network's), ~0.44 ms of CPU and two round trips of a
~1.5 ms request (bench/bench_api.py). Here one script checks and counts them
all, with the limits library's moving window on the very keys Flask-Limiter
would use (same storage, prefix, scope and key functions), so "5 per minute"
still holds over any 60 s and `flask limiter` tooling still sees them.

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

from web.errors import ApiError, rate_limited
from web.extensions import storage_key

_SCRIPT = (Path(__file__).parent / "lua" / "submit_limits.lua").read_text()
SCOPE = "generate.create"  # the endpoint: Flask-Limiter's scope for a route's own limits


class SubmitLimits:
    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter
        self._script = None
        self._parsed: dict[str, list[RateLimitItem]] = {}

    def _items(self, value: str) -> list[RateLimitItem]:
        if value not in self._parsed:
            self._parsed[value] = parse_many(value)
        return self._parsed[value]

    def take(self, limits: list[tuple[str, str]], report: bool = False) -> None:
        """Count one submit against every (limit value, key) in `limits`.

        Raises ApiError(429) with Retry-After when one is full; with `report`,
        leaves (amount, remaining, seconds to reset) of the first limit in
        `g.submit_allowance` for the RateLimit headers (web/auth.py).
        """
        if not self.limiter.enabled or not limits:
            return
        # Flask-Limiter's order: by each limit's window, then amount.
        pairs = sorted(((item, key) for value, key in limits for item in self._items(value)),
                       key=lambda pair: pair[0])
        keys, args = [], [repr(time.time()), "1" if report else "0"]
        for item, key in pairs:
            keys.append(storage_key(self.limiter, item, key, SCOPE))
            args += [item.amount, item.get_expiry()]
        if self._script is None:
            self._script = self.limiter.storage.get_connection().register_script(_SCRIPT)
        full, oldest, count = self._script(keys=keys, args=args)
        if full:
            item = pairs[full - 1][0]
            retry = max(1, int(float(oldest) + item.get_expiry() - time.time()))
            raise ApiError(429, rate_limited(str(item)), {"Retry-After": str(retry)})
        if report:
            item = pairs[0][0]
            reset_in = max(0.0, float(oldest) + item.get_expiry() - time.time())
            g.submit_allowance = (item.amount, max(0, item.amount - int(count)), reset_in)


def submit_limits() -> SubmitLimits:
    return current_app.extensions["submit_limits"]
