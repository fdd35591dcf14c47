"""`GET /openapi.json`: the hand-written OpenAPI 3.1 description of the API.

The document lives in web/openapi.json; tests/drills/test_openapi.py checks
that its paths and methods are exactly the app's routes and runs schemathesis
against it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi.json"


@lru_cache(maxsize=1)
def document() -> dict:
    return json.loads(DOCUMENT.read_text())


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
