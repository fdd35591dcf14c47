"""The web page at `/`: static HTML, CSS and JS modules from web/static/.

No build step. The page talks only to the public API, same origin, with the
session cookie; serving it opens the session so that the page's first API
calls all share one owner.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

from web.extensions import read_limit
from web.identity import session_owner

STATIC = Path(__file__).resolve().parent.parent / "static"

bp = Blueprint("page", __name__, static_folder=str(STATIC), static_url_path="/static")

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


@bp.get("/")
@read_limit
def index():
    session_owner()
    response = send_from_directory(STATIC, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response

