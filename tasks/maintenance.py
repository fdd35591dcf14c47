"""Periodic housekeeping tasks (run by beat on the `maintenance` queue)."""

from __future__ import annotations

import logging

from tasks.app import app

log = logging.getLogger("tasks.maintenance")


@app.task(name="music.purge_expired")
def purge_expired() -> dict:
    from tasks.jobs.retention import purge

    return purge()


@app.task(name="music.requeue_stalled")
def requeue_stalled() -> dict:
    from tasks.jobs.stalled import requeue_stalled as sweep

    return sweep()
