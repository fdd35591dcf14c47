"""The Celery application. `celery -A tasks worker` finds it as `tasks.app`.

Configured like Flask's own Celery pattern: `init_celery(settings)` applies one
Settings object (create_app does this with its own); a process that never
calls it (worker, beat, batch CLI, a script using send_task) gets the Settings
read from the environment, lazily, the first time the configuration is needed.
"""

from __future__ import annotations

import threading

from celery import Celery

import celeryconfig
import tasks.config.logs  # noqa: F401  (JSON/text log setup for worker and beat via setup_logging)
from tasks.config.settings import Settings, get_settings
from tasks.follow_primary import FollowPrimary

app = Celery("music")
app.config_from_object("celeryconfig")
app.add_defaults(lambda: celeryconfig.from_settings(get_settings()))
# Under Sentinel, a worker's broker consumer also follows a primary that hangs
# instead of dying (tasks/follow_primary.py).
app.steps["consumer"].add(FollowPrimary)
# Imported for their task registrations and worker signal handlers.
app.conf.imports = ("tasks.generate", "tasks.encode", "tasks.maintenance", "tasks.notify",
                    "tasks.worker")


def init_celery(settings: Settings) -> Celery:
    """Apply these settings to the Celery app (brokers, limits, retention)."""
    config = celeryconfig.from_settings(settings)
    if app.configured and (app.conf.broker_url, app.conf.result_backend) != (
        config["broker_url"], config["result_backend"]
    ):
        _forget_connections()
    app.conf.update(config)
    return app


def _forget_connections() -> None:
    # Pooled connections, producers and the result backend belong to the old
    # Redis. Celery has no public "reconfigure" for them; this drops them the
    # way it does itself in a forked child, plus the cached backend.
    # (Not closed: a producer checked out of the old pool may still hold it.)
    app._after_fork()
    app._backend_cache = None
    app._local = threading.local()
