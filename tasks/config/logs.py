"""One logging setup for the API and the workers: JSON lines, or text with LOG_JSON=0.

Every line logged while a job runs carries its ``job_id``: taken from the
record's ``extra={"job_id": ...}`` when given, else from the Celery task being
executed in this process. The API calls ``configure()`` from create_app(); Celery
worker and beat processes get it through the ``setup_logging`` signal (which
also tells Celery not to install its own handlers).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from celery.signals import setup_logging

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_MARK = "_music_handler"


def current_job_id() -> str | None:
    """The id of the Celery task running in this process, if any."""
    try:
        from celery import current_task

        task = current_task._get_current_object()
    except Exception:
        return None
    if task is None or getattr(task, "request", None) is None:
        return None
    return getattr(task.request, "id", None)


class JobIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "job_id", None):
            job_id = current_job_id()
            if job_id:
                record.job_id = job_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.processName if record.processName != "MainProcess" else None,
            "pid": record.process,
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_") and name not in line:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps({k: v for k, v in line.items() if v is not None}, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        job_id = getattr(record, "job_id", None)
        return f"{text} [job_id={job_id}]" if job_id else text


def configure(json_lines: bool | None = None, level: int | str = logging.INFO) -> None:
    """Install (or replace) this module's handler on the root logger; idempotent."""
    if json_lines is None:
        from tasks.config.settings import get_settings

        json_lines = get_settings().log_json
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _MARK, True)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(JobIdFilter())
    root.addHandler(handler)
    root.setLevel(level)


@setup_logging.connect
def _celery_setup_logging(loglevel=None, **_):
    configure(level=loglevel or logging.INFO)
