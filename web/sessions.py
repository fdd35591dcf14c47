"""Server-side sessions only where they are used, with a short read cache.

Flask opens the session before any handler runs, so a Redis outage would turn
even /health, /metrics and the page into 503s for a client that carries a
cookie. Paths other than /api/* and the page get Flask's NullSession
(read-only, empty) and touch no Redis at all. The page at / keeps its session:
it opens one so that the page's first parallel API calls share one owner.

Clients poll job status every few seconds, and a session here is written
once (its owner id) and then only read. Each process therefore remembers
sessions it loaded from Redis for a few seconds, which halves the Redis round
trips of a status poll. Only ids Redis confirmed are remembered, so a forged
cookie still gets a fresh session.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from flask import current_app, g
from flask.sessions import NullSession, SessionInterface


class ApiOnlySessions(SessionInterface):
    def __init__(
        self, inner: SessionInterface, db: int = 0, cache_seconds: float = 5.0,
        cache_size: int = 10_000,
    ) -> None:
        self.inner = inner
        self.db = db  # the sessions' Redis DB (for renewal())
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[float, dict]] = OrderedDict()

    def open_session(self, app, request):
        if not (request.path.startswith("/api/") or request.path == "/"):
            return NullSession()
        if "Authorization" in request.headers and request.path.startswith("/api/"):
            # An API key request (web/auth.py): no session, no cookie read or set.
            return NullSession()
        sid = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        hit = self._cache.get(sid) if sid else None
        if hit is not None and hit[0] > time.monotonic():
            return self.inner.session_class(dict(hit[1]), sid=sid)
        session = self.inner.open_session(app, request)
        if sid and session.sid == sid and session:  # Redis knew this id
            self._remember(sid, session)
        return session

    def renewal(self, session) -> tuple[int, str, int]:
        """(DB, key, seconds) with which a job's create script restarts this session's
        life (web/blueprints/generate.py): its stored copy is not written again,
        only its cookie is sent again, with the new expiry."""
        app = current_app
        return (self.db, self.inner._get_store_id(session.sid),
                int(app.permanent_session_lifetime.total_seconds()))

    @staticmethod
    def renewed() -> None:
        """The job's script restarted the session's life: send only its cookie again."""
        g.session_renewed = True

    def save_session(self, app, session, response) -> None:
        if isinstance(session, NullSession):
            return
        if g.get("session_renewed") and not session.modified:
            self._send_cookie(app, session, response)
            return
        if not session.modified and not app.config["SESSION_REFRESH_EACH_REQUEST"]:
            # What Flask-Session would do for an unchanged session (nothing is
            # stored, no cookie set), without its cookie and storage lookups on
            # every status poll.
            if session.accessed:
                response.vary.add("Cookie")
            return
        self.inner.save_session(app, session, response)
        if session.modified:
            if session:
                self._remember(session.sid, session)
            else:
                self._cache.pop(session.sid, None)

    def _send_cookie(self, app, session, response) -> None:
        # The cookie Flask-Session sets when it saves a session, with the same
        # attributes (its store's copy already lives as long).
        inner = self.inner
        response.set_cookie(
            app.config["SESSION_COOKIE_NAME"],
            inner._sign(app, session.sid) if inner.use_signer else session.sid,
            expires=inner.get_expiration_time(app, session),
            httponly=inner.get_cookie_httponly(app),
            domain=inner.get_cookie_domain(app),
            path=inner.get_cookie_path(app),
            secure=inner.get_cookie_secure(app),
            samesite=inner.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")

    def is_null_session(self, obj) -> bool:
        return isinstance(obj, NullSession)

    def _remember(self, sid: str, session) -> None:
        if self.cache_seconds <= 0:
            return
        self._cache[sid] = (time.monotonic() + self.cache_seconds, dict(session))
        self._cache.move_to_end(sid)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
