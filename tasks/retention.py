"""Delete audio older than RETENTION_HOURS; the job record says it expired."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tasks.context import audio_storage, job_store
from tasks.settings import get_settings

log = logging.getLogger("tasks.retention")


def purge(now: datetime | None = None) -> dict:
    settings = get_settings()
    storage, jobs = audio_storage(), job_store()
    cutoff = (now or datetime.now(UTC)) - timedelta(hours=settings.retention_hours)
    deleted = 0
    for info in list(storage.list()):
        if info.modified >= cutoff:
            continue
        job_id = info.key.removeprefix("audio/").removesuffix(".wav")
        # Mark first: a reader between the two steps then gets "expired", not a broken file.
        if jobs.get(job_id) is not None:
            jobs.update(job_id, expired="1")
        storage.delete(info.key)
        deleted += 1
    log.info("retention purge removed %d audio objects older than %s", deleted, cutoff)
    return {"deleted": deleted, "cutoff": cutoff.isoformat()}
