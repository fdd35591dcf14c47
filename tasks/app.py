"""The Celery application. `celery -A tasks worker` finds it as `tasks.app`."""

from celery import Celery

import tasks.config.logs  # noqa: F401  (JSON/text log setup for worker and beat via setup_logging)

app = Celery("music")
app.config_from_object("celeryconfig")
# Imported for their task registrations and worker signal handlers.
app.conf.imports = ("tasks.generate", "tasks.maintenance", "tasks.worker")
