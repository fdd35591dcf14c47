"""Server-side sessions only where they are used: the /api/ routes and the page.

Flask opens the session before any handler runs, so a Redis outage would turn
even /health, /metrics and the page into 503s for a client that carries a
cookie. Other paths get Flask's NullSession (read-only, empty) and touch no
Redis at all. The page at / keeps its session: it opens one so that the page's
first parallel API calls share one owner.
"""

from __future__ import annotations

from flask.sessions import NullSession, SessionInterface


class ApiOnlySessions(SessionInterface):
    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner

    def open_session(self, app, request):
        if request.path.startswith("/api/") or request.path == "/":
            return self.inner.open_session(app, request)
        return NullSession()

    def save_session(self, app, session, response) -> None:
        if not isinstance(session, NullSession):
            self.inner.save_session(app, session, response)

    def is_null_session(self, obj) -> bool:
        return isinstance(obj, NullSession)
