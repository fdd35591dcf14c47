"""Every error, Flask's own included, answers JSON {"detail": ...}."""

from __future__ import annotations

import logging
import time

import redis
from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("web.errors")

_DETAILS = {
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Content-Type must be application/json",
}


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def rate_limited(description: str) -> str:
    """The detail of every 429 from a rate limit."""
    return f"Rate limit exceeded ({description}). Please wait before retrying."


def error_response(status: int, detail: str, headers: dict | None = None):
    response = jsonify(detail=detail)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# OutOfMemoryError: Redis at its maxmemory (noeviction) refuses writes; that is
# an outage for the client too, not a server bug. Under Sentinel, a failover
# shows up as MasterNotFoundError (a ConnectionError: no primary yet) or, on a
# connection still open to the demoted primary, ReadOnlyError.
_OUTAGES = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.OutOfMemoryError,
            redis.exceptions.ReadOnlyError)


def _is_redis_outage(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, _OUTAGES):
            return True
        # min-replicas-to-write: a primary without enough replicas in sync
        # refuses writes rather than risk losing them (README, "Durability").
        if isinstance(exc, redis.ResponseError) and str(exc).startswith("NOREPLICAS"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _retry_after() -> int:
    """Seconds until the breached limit lets this client in again.

    Limiters run without X-RateLimit-* headers (each costs a Redis round trip
    on every request): the window is read only here, for the rare 429.
    """
    for extension in current_app.extensions.get("limiter", ()):
        limit = extension.current_limit
        if limit is not None and limit.breached:
            return max(1, int(limit.reset_at - time.time()))
    return 60


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.detail, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        headers = {}
        if exc.code == 429:
            detail = rate_limited(exc.description)
            headers["Retry-After"] = str(_retry_after())
        else:
            detail = _DETAILS.get(exc.code) or exc.description or exc.name
        response = error_response(exc.code or 500, detail, headers)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError):
        original = getattr(exc, "original_exception", None)
        if _is_redis_outage(original):
            log.error("redis unavailable: %s", original)
            return error_response(
                503,
                "Service temporarily unavailable (job store unreachable); retry shortly",
                {"Retry-After": "5"},
            )
        log.error("unhandled error", exc_info=original)
        return error_response(500, "Internal server error")

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        if _is_redis_outage(exc):
            return error_response(
                503,
                "Service temporarily unavailable (job store unreachable); retry shortly",
                {"Retry-After": "5"},
            )
        log.exception("unhandled error")
        return error_response(500, "Internal server error")
