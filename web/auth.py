"""Bearer API keys on /api routes: who is calling when it is a server, not a browser.

A request that carries `Authorization` is a key request through and through:
it never opens the session (web/sessions.py gives it none, so no cookie is
read or set) and a bad key is a 401, never a fall back to the cookie.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, request

from tasks.clients.store import KEY_PREFIX, ApiClient, KeyRevoked
from web.errors import ApiError

# The IETF draft's names next to the X-RateLimit-* ones flask-limiter sends.
_DRAFT_HEADERS = {"X-RateLimit-Limit": "RateLimit-Limit",
                  "X-RateLimit-Remaining": "RateLimit-Remaining",
                  "X-RateLimit-Reset": "RateLimit-Reset"}


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


def _draft_headers(response):
    if g.get("api_client") is not None:
        for old, new in _DRAFT_HEADERS.items():
            if old in response.headers:
                value = response.headers[old]
                if new == "RateLimit-Reset":  # the draft's reset is seconds from now
                    value = str(max(0, int(float(value) - time.time())))
                response.headers[new] = value
    return response


def init_auth(app: Flask) -> None:
    """Registered before the limiter so that limits can key on the client."""
    app.before_request(_authenticate)
    app.after_request(_draft_headers)
