"""Engine lifecycle in a worker: checked before fork, loaded once per process.

The parent process only validates the configuration (no CUDA call may happen
before fork); each pool child loads the model once in worker_process_init.
A setup failure stops the whole worker instead of letting it take jobs.
Workers that do not consume the `music` queue (maintenance, encode) have no
engine at all: they run from images without numpy or torch.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
from typing import TYPE_CHECKING

from celery.signals import (
    heartbeat_sent,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from inference import EngineSetupError, get_engine
from inference.settings import EngineSettings
from tasks.config.services import job_store

if TYPE_CHECKING:
    from inference.base import Engine  # numpy

log = logging.getLogger("tasks.worker")

_engine: Engine | None = None
# Read once in the parent (before fork); pool children inherit the object.
_engine_settings: EngineSettings | None = None
_hostname: str | None = None
# Shared with the pool children (created before fork) so a child whose model
# failed to load can make the whole worker exit non-zero.
_setup_failed = None


def _refuse_to_start(message: str) -> None:
    log.critical("worker refusing to start: %s", message)
    print(f"worker refusing to start: {message}", file=sys.stderr, flush=True)


@worker_init.connect
def check_engine_config(sender=None, **_):
    global _hostname, _setup_failed
    _hostname = getattr(sender, "hostname", None)
    _setup_failed = multiprocessing.Value("b", 0, lock=False)
    if not _consumes_music():  # maintenance / encode: no engine to check or load
        return
    try:
        # Constructing an engine validates its settings and files without
        # touching the GPU.
        get_engine(settings=engine_settings())
    except (EngineSetupError, ValueError) as exc:
        _refuse_to_start(str(exc))
        raise SystemExit(1) from None
    log.info("engine configured: %s", engine_settings().engine_name())


def engine_settings() -> EngineSettings:
    global _engine_settings
    if _engine_settings is None:
        _engine_settings = EngineSettings.from_env()
    return _engine_settings


@worker_process_init.connect
def load_engine(**_):
    if not _consumes_music():
        return
    try:
        current_engine()
    except Exception as exc:  # any failure to load must stop the worker
        _refuse_to_start(f"engine setup failed: {exc}")
        if _setup_failed is not None:
            _setup_failed.value = 1
        os.kill(os.getppid(), signal.SIGTERM)
        os._exit(1)


def current_engine() -> Engine:
    """The process's engine, set up on first use (solo pool has no process init)."""
    global _engine
    if _engine is None:
        engine = get_engine(settings=engine_settings())
        engine.setup()
        _engine = engine
        log.info("engine ready: %s", engine.describe())
    return _engine


@worker_ready.connect
@heartbeat_sent.connect
def beat(**_):
    # Only workers that generate count as live (estimates, /health/ready): a
    # maintenance-only worker (-Q maintenance) sends no heartbeat here.
    if _hostname and _consumes_music():
        try:
            job_store().heartbeat(_hostname)
        except Exception:  # a Redis blip must not kill the heartbeat thread
            log.warning("could not record worker heartbeat", exc_info=True)


def _consumes_music() -> bool:
    from tasks.app import app

    queues = app.amqp.queues.consume_from
    return not queues or "music" in queues


@worker_shutdown.connect
def goodbye(sender=None, **_):
    if _setup_failed is not None and _setup_failed.value and sender is not None:
        sender.exitcode = 1  # supervisors must see a failed start, not a clean stop
    if _hostname:
        try:
            job_store().forget_worker(_hostname)
        except Exception:
            pass
