"""`GET /openapi.json`: the OpenAPI 3.1 description of the API.

Paths, status codes and their prose live in web/openapi.json; every request
and response schema is generated from the pydantic models (web/schemas.py,
whose request schema is the job contract itself), so a field is declared once.
tests/drills/test_openapi.py checks that the paths are exactly the app's routes
and runs schemathesis against the document.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, jsonify

from web.schemas import component_schemas

bp = Blueprint("openapi", __name__)

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi.json"


@lru_cache(maxsize=1)
def document() -> dict:
    doc = json.loads(DOCUMENT.read_text())
    doc["components"]["schemas"] = component_schemas()
    return doc


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
