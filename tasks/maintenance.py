"""Periodic housekeeping tasks (run by beat on the `maintenance` queue).

The wiring lives here: each sweep is handed the job store, storage and broker
view this process uses (Sentinel-backed or not: tasks.config decides), so the
job contract in tasks/jobs/ never reaches up into the configuration.
"""

from __future__ import annotations

import logging
from functools import partial

from tasks.app import app
from tasks.config.services import audio_storage, job_store
from tasks.config.settings import get_settings

log = logging.getLogger("tasks.maintenance")


@app.task(name="music.purge_expired")
def purge_expired() -> dict:
    from tasks.jobs.retention import purge

    settings = get_settings()
    return purge(job_store(settings), audio_storage(settings), settings)


@app.task(name="music.requeue_stalled")
def requeue_stalled(older_than: float | None = None) -> dict:
    """`older_than`: the silence that counts as stalled (default STALL_SECONDS)."""
    from tasks.jobs.broker import message_ids
    from tasks.jobs.stalled import requeue_stalled as sweep

    settings = get_settings()
    return sweep(job_store(settings), settings, older_than,
                 queued_message_ids=partial(message_ids, app, "music"))
