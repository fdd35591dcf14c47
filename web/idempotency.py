"""`Idempotency-Key` on POST /api/generate: a retried submit never runs twice.

Scoped to the caller (session or API client), kept 24 h. The first request
with a key claims it (web/idempotency.lua, one atomic script, so of many
concurrent identical submits exactly one goes on); its 2xx answer is stored and
replayed to every later request with the same key and body, with
`Idempotent-Replayed: true`. A different body under the key is 422; a request
while the first is still being processed is 409. An answer that is not 2xx
(a 429, a 503, a bad body) is not stored: the key is released, so the client
may retry with it. Replays, 409s and 422s here do not count against the rate
limits (the limiter asks `exempt()` first).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import redis
from flask import Flask, current_app, g, request

from web.errors import ApiError
from web.identity import session_owner

HEADER = "Idempotency-Key"
WINDOW_SECONDS = 24 * 3600
# A claim whose request died (process killed mid-submit) frees itself after this.
CLAIM_MS = 60_000
_VALID = re.compile(r"^[A-Za-z0-9_.:-]{1,255}\Z")
_SCRIPT = (Path(__file__).with_name("idempotency.lua")).read_text()


def _redis():
    return current_app.extensions["jobs"].r


def _fingerprint() -> str:
    raw = request.get_data(cache=True)
    try:  # the same JSON object however it is spelled (key order, spacing)
        raw = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        pass
    return hashlib.sha256(raw).hexdigest()


def claim() -> tuple | None:
    """This request's claim on its key, once per request: None without a (valid) key."""
    if "idempotency" not in g:
        key = request.headers.get(HEADER)
        g.idempotency = None
        if key is not None and _VALID.match(key):
            redis_key = f"idem:{session_owner()}:{key}"
            script = current_app.extensions["idempotency_script"]
            reply = script(keys=[redis_key], args=[_fingerprint(), CLAIM_MS])
            outcome = [part.decode() if isinstance(part, bytes) else part for part in reply]
            g.idempotency = (redis_key, *outcome)
    return g.idempotency


def exempt() -> bool:
    """Limiter hook: nothing new happens for a replay, a mismatch or a request in progress."""
    found = claim() if HEADER in request.headers else None
    return found is not None and found[1] != "new"


def check() -> tuple[int, dict] | None:
    """In the view, before any work: raises 400/409/422, or returns a stored (status, body)."""
    if HEADER not in request.headers:
        return None
    if not _VALID.match(request.headers[HEADER]):
        raise ApiError(400, f"{HEADER} must be 1-255 characters of A-Z a-z 0-9 _ . : -")
    redis_key, outcome, *stored = claim()
    if outcome == "mismatch":
        raise ApiError(422, f"This {HEADER} was already used with a different request body")
    if outcome == "in_progress":
        raise ApiError(409, f"A request with this {HEADER} is still being processed; "
                       "retry shortly", {"Retry-After": "1"})
    if outcome == "replay":
        return int(stored[0]), json.loads(stored[1])
    return None


def remember(status: int, body: dict) -> None:
    """Store this request's answer for the window (called for 2xx answers only)."""
    found = g.get("idempotency")
    if found is None or found[1] != "new":
        return
    pipe = _redis().pipeline()
    pipe.hset(found[0], mapping={"status": status, "body": json.dumps(body)})
    pipe.expire(found[0], WINDOW_SECONDS)
    pipe.execute()
    g.idempotency = (found[0], "stored")


def _release_unanswered(response):
    found = g.get("idempotency")
    if found is not None and found[1] == "new":  # not a 2xx: the key is free again
        try:
            _redis().delete(found[0])
        except redis.RedisError:
            pass  # the claim lapses by itself after CLAIM_MS
    return response


def init_idempotency(app: Flask) -> None:
    # Registered once per app (after the job store it runs on), not per request.
    app.extensions["idempotency_script"] = app.extensions["jobs"].r.register_script(_SCRIPT)
    app.after_request(_release_unanswered)
