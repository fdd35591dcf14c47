"""Celery app and tasks: the thin glue of validate -> engine -> storage -> job record.

Importing this package never imports torch or an engine: the API imports it
to submit jobs.
"""

from tasks.app import app

__all__ = ["app"]
