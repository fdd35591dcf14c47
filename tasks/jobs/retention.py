"""Retention: audio older than RETENTION_HOURS is deleted; its job record says "expired".

Run hourly by beat (`music.purge_expired` on the maintenance queue). Two passes:

1. Audio: every object under audio/ (file or S3 storage) last modified before
   the cutoff is deleted (a job's exports with its audio, however new they
   are), after its job record (if any) is marked expired, so a reader in
   between gets "expired", never a broken file. One odd or failing
   object is logged and skipped; it never stops the rest of the purge.
2. Records: job records live 2x RETENTION_HOURS (a Redis TTL set at creation),
   so the API can still answer "expired" after the audio is gone. The sweep
   marks finished jobs past the cutoff as expired even when their audio vanished
   some other way (e.g. a bucket lifecycle rule), gives a TTL back to records
   that lost theirs (a stray write after expiry re-creates a hash without one),
   and deletes records older than the record lifetime.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from storage import CONTENT_TYPES, Storage, StorageError, check_key, key_job_id
from tasks.exports import export_keys
from tasks.jobs.status import TERMINAL, Status
from tasks.jobs.store import JOB_ID_RE, JobStore

log = logging.getLogger("tasks.jobs.retention")

_SCAN_BATCH = 500


def purge(jobs: JobStore, storage: Storage, settings, now: datetime | None = None) -> dict:
    """One retention pass over `storage` and the records in `jobs` (beat's caller
    hands both in: tasks/maintenance.py)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    cutoff = now - timedelta(hours=settings.retention_hours)
    audio = _purge_audio(jobs, storage, cutoff)
    records = _sweep_records(jobs, settings, now, cutoff)
    result = {**audio, **records, "temporaries_deleted": _sweep_temporaries(storage),
              "cutoff": cutoff.isoformat()}
    log.info("retention purge: %s", result)
    return result


def _purge_audio(jobs: JobStore, storage: Storage, cutoff: datetime) -> dict:
    deleted = skipped = errors = 0
    gone: set[str] = set()
    for info in list(storage.list()):
        if info.modified >= cutoff or info.key in gone:
            continue
        job_id = key_job_id(info.key)
        try:
            check_key(info.key)  # a foreign object never touches a job record
            if JOB_ID_RE.match(job_id):
                # Only sets the flag if the record still exists (no stray hash).
                jobs.transition(job_id, (*TERMINAL, Status.STARTED), expired="1")
            storage.delete(info.key)
            deleted += 1
            if info.key.rpartition(".")[2] in CONTENT_TYPES and JOB_ID_RE.match(job_id):
                for key in export_keys(job_id):  # a job's exports go with its audio
                    storage.delete(key)
                    gone.add(key)
        except ValueError:  # not one of ours (a key outside the audio/{id}.{ext} scheme)
            log.warning("retention: skipping unexpected object %r", info.key)
            skipped += 1
        except StorageError as exc:
            log.warning("retention: could not delete %s: %s", info.key, exc)
            errors += 1
    return {"deleted": deleted, "skipped": skipped, "errors": errors}


def _sweep_temporaries(storage: Storage) -> int:
    # Upload copies left by a worker killed mid-write (file storage only: S3
    # multipart uploads that never complete are the bucket lifecycle's job).
    sweep = getattr(storage, "sweep_temporaries", None)
    try:
        return sweep() if sweep else 0
    except OSError as exc:
        log.warning("retention: could not sweep upload temporaries: %s", exc)
        return 0


def _sweep_records(jobs: JobStore, settings, now: datetime, cutoff: datetime) -> dict:
    lifetime = jobs.retention  # records live 2x RETENTION_HOURS (tasks.config.services)
    record_cutoff = now - timedelta(seconds=lifetime)
    marked = dropped = ttl_restored = 0
    fields = ("status", "created_at", "finished_at", "expired")
    for job_id, record, ttl in jobs.scan_records(fields, batch=_SCAN_BATCH):
        created_at = _parse(record["created_at"])
        if created_at is None or created_at < record_cutoff:
            # No creation time: a stray hash written after its record expired.
            jobs.drop(job_id)
            dropped += 1
            continue
        if ttl == -1:
            jobs.expire_in(job_id, lifetime - (now - created_at).total_seconds())
            ttl_restored += 1
        finished_at = _parse(record["finished_at"])
        done = record["status"] == Status.FINISHED and not record["expired"]
        if done and finished_at and finished_at < cutoff:
            if jobs.transition(job_id, (Status.FINISHED,), expired="1") == "ok":
                marked += 1
    return {"records_marked_expired": marked, "records_deleted": dropped,
            "records_ttl_restored": ttl_restored}


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        value = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
