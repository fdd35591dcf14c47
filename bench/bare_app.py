"""The framework's own limit: a bare Flask app with one route doing one Redis GET.

    gunicorn -c gunicorn.conf.py "bench.bare_app:create_app()"

Served by the same gunicorn config as the API, on the same Redis client the
API's job store uses (tasks.config.redis_clients), so a route of ours compared
with it shows what our own code costs beyond Flask, gevent and one round trip.
"""

from __future__ import annotations

from flask import Flask, jsonify

from tasks.config.redis_clients import redis_for
from tasks.config.settings import Settings


def create_app() -> Flask:
    app = Flask(__name__)
    client = redis_for(Settings.from_env(), "jobs")

    @app.get("/bare")
    def bare():
        return jsonify(value=(client.get("bench:bare") or b"").decode())

    return app
