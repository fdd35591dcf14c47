"""Who is asking: the server-side session's owner id, and the client's IP."""

from __future__ import annotations

import secrets

from flask import request, session


def session_owner() -> str:
    """The owner id stored in the server-side session, created on first use.

    Ownership uses this id, never the raw cookie: a forged or unknown cookie
    opens a fresh, empty session and so a new owner.
    """
    owner = session.get("owner")
    if not owner:
        owner = secrets.token_urlsafe(16)
        session["owner"] = owner
        session.permanent = True
    return owner


def client_ip() -> str:
    # ProxyFix (enabled only with TRUSTED_PROXY_COUNT > 0) has already rewritten
    # remote_addr from X-Forwarded-For; otherwise the header is ignored.
    return request.remote_addr or "unknown"
