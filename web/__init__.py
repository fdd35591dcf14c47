"""The HTTP API: `gunicorn "web:create_app()"`.

web/ never imports torch or an engine: it records jobs and queues them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from tasks.app import init_celery
from tasks.config.logs import configure as configure_logging
from tasks.config.redis_clients import limits_storage_options, redis_for
from tasks.config.services import audio_storage, client_store, job_store, record_ttl_seconds
from tasks.config.settings import Settings
from web.auth import init_auth
from web.errors import register_error_handlers
from web.extensions import (
    READ_SCOPE,
    cors,
    drop_idle_middleware,
    limiter,
    read_key,
    read_limiter,
    session,
)
from web.idempotency import init_idempotency
from web.poll import JobPoll
from web.sessions import ApiOnlySessions
from web.stream_slots import StreamSlots
from web.submit_limits import SubmitLimits

__version__ = "1.0.0"

_EXPOSED = ["Location", "Retry-After", "Content-Range", "Content-Disposition", "Content-Length",
            "Idempotent-Replayed"]


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key or None,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
        # Server-side sessions in Redis; the cookie only carries a random id.
        SESSION_TYPE="redis",
        SESSION_REDIS=redis_for(settings, "sessions"),
        SESSION_SERIALIZATION_FORMAT="json",
        SESSION_PERMANENT=True,
        # Not rewriting the session on every status poll saves a Redis write per
        # request; each generation re-saves it instead (web/blueprints/generate.py),
        # and it then lives at least as long as that job's record, so a job stays
        # reachable as long as its audio (or its "expired" answer) exists.
        SESSION_REFRESH_EACH_REQUEST=False,
        PERMANENT_SESSION_LIFETIME=timedelta(
            seconds=max(settings.session_lifetime_hours * 3600, record_ttl_seconds(settings))
        ),
        SESSION_COOKIE_NAME="session_id",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE=settings.session_cookie_samesite,
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        # `redis+sentinel://` under Sentinel. Limits live on the primary like
        # everything else (README, "Redis Sentinel: failover and durability").
        RATELIMIT_STORAGE_URI=settings.limits_storage_uri(),
        RATELIMIT_STORAGE_OPTIONS=limits_storage_options(settings),
        # No X-RateLimit-* headers: each costs a Redis round trip on every
        # request; a 429 still says Retry-After (web/errors.py). API key
        # requests get them from web/auth.py.
        RATELIMIT_HEADERS_ENABLED=False,
    )
    app.extensions["celery"] = init_celery(settings)
    app.extensions["jobs"] = job_store(settings)
    app.extensions["clients"] = client_store(settings)
    app.extensions["audio_storage"] = audio_storage(settings, interactive=True)
    app.extensions["stream_slots"] = StreamSlots(
        redis_for(settings, "limits"), settings.events_max_seconds
    )

    if settings.trusted_proxy_count:
        n = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    session.init_app(app)
    app.session_interface = ApiOnlySessions(app.session_interface,
                                            settings.redis_db_for("sessions"))
    init_auth(app)  # before the limiter: limits key on the key's client
    # Flask-Limiter merges each init_app's RATELIMIT_STORAGE_OPTIONS into what
    # earlier apps left on the shared extension; an app (a test's, with other
    # settings) must get only its own, or plain Redis options reach a Sentinel
    # storage and the other way round.
    for extension in (limiter, read_limiter):
        extension._storage_options = {}
        extension.init_app(app)
    app.extensions["submit_limits"] = SubmitLimits(limiter)
    app.extensions["job_poll"] = JobPoll(
        app.extensions["jobs"], read_limiter, settings.rate_limit_read_ip, READ_SCOPE, read_key
    )
    if settings.cors_origins:
        # Without listed origins (the page served from here) there is no CORS
        # header to send, and its hook would only cost time on every API request.
        cors.init_app(
            app,
            resources={r"/api/*": {"origins": list(settings.cors_origins)}},
            supports_credentials=True,
            expose_headers=_EXPOSED,
        )
    register_error_handlers(app)
    init_idempotency(app)

    from web.blueprints import (
        audio,
        events,
        exports,
        generate,
        health,
        jobs,
        openapi,
        ops,
        page,
    )
    from web.blueprints import webhooks as webhook_secrets

    for module in (health, ops, generate, jobs, events, audio, exports, webhook_secrets, page,
                   openapi):
        app.register_blueprint(module.bp)
    for extension in (limiter, read_limiter):  # once every route's limits are known
        drop_idle_middleware(app, extension)

    from web.cli import keys

    app.cli.add_command(keys)
    configure_logging(settings.log_json)
    logging.getLogger("web").setLevel(logging.INFO)
    return app
