"""Bearer API keys on /api routes: who is calling when it is a server, not a browser.

A request that carries `Authorization` is a key request through and through:
it never opens the session (web/sessions.py gives it none, so no cookie is
read or set) and a bad key is a 401, never a fall back to the cookie.
"""

from __future__ import annotations

import math
import time

import redis
from flask import Flask, current_app, g, request

from tasks.clients.store import KEY_PREFIX, ApiClient, KeyRevoked
from web.errors import ApiError


def bearer_request() -> bool:
    return "Authorization" in request.headers and request.path.startswith("/api/")


def api_client() -> ApiClient | None:
    """The key client calling now; None for a cookie (browser) request."""
    return g.get("api_client")


def _deny(detail: str, invalid_token: bool = True) -> ApiError:
    # RFC 6750: error="invalid_token" for a key that was given but is no good.
    challenge = 'Bearer realm="api"' + (', error="invalid_token"' if invalid_token else "")
    return ApiError(401, detail, {"WWW-Authenticate": challenge})


def _authenticate() -> None:
    if not bearer_request() or request.method == "OPTIONS":
        return
    scheme, _, key = request.headers["Authorization"].strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise _deny("Authorization must be 'Bearer <API key>'", invalid_token=False)
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        raise _deny("Malformed API key")
    try:
        g.api_client = current_app.extensions["clients"].authenticate(key)
    except KeyRevoked:
        raise _deny("This API key has been revoked") from None
    except KeyError:
        raise _deny("Unknown API key") from None


def _allowance() -> tuple[int, int, float] | None:
    """(limit, remaining, seconds to reset) of the limit this key request drew on."""
    found = g.get("read_allowance")  # the status poll's own script (web/poll.py)
    if found is not None:
        amount, count, ttl_ms = found
        return amount, max(0, amount - count), max(0, ttl_ms) / 1000
    found = g.get("submit_allowance")  # the submit limits' own script (web/submit_limits.py)
    if found is not None:
        return found
    from web.extensions import limiter, read_limiter

    current = limiter.current_limit or read_limiter.current_limit
    if current is None:
        return None
    window = current.window  # one more Redis read: key requests only
    return current.limit.amount, window.remaining, max(0.0, window.reset_time - time.time())


def _rate_headers(response):
    # Browsers get none (each costs a Redis read); servers pace themselves by them.
    if g.get("api_client") is None:
        return response
    try:
        found = _allowance()
    except redis.RedisError:
        return response
    if found is not None:
        amount, remaining, reset_in = found
        reset_in = math.ceil(reset_in)
        for prefix in ("RateLimit-", "X-RateLimit-"):
            response.headers[prefix + "Limit"] = str(amount)
            response.headers[prefix + "Remaining"] = str(remaining)
        response.headers["RateLimit-Reset"] = str(reset_in)  # the IETF draft: seconds
        response.headers["X-RateLimit-Reset"] = str(int(time.time()) + reset_in)  # epoch
    return response


def init_auth(app: Flask) -> None:
    """Registered before the limiter so that limits can key on the client."""
    app.before_request(_authenticate)
    app.after_request(_rate_headers)
