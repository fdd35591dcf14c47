"""The `music.encode` task: a rendered job's WAV -> FLAC/MP3/Opus, on CPU workers.

The GPU worker stores the 16-bit WAV and queues this (tasks.jobs.submit.send_encode);
a worker consuming the `encode` queue downloads it, compresses it, stores
`audio/{id}.{ext}`, makes the exports the record lists as pending
(tasks.exports), finishes the job, then deletes the WAV (a WAV job keeps
it: only exports brought it here). Running it twice writes the same keys and
finds the job finished the second time: idempotent.

Edits (extend/repaint/cover) never decode a lossy file: a WAV or FLAC job's own
file is its master; an MP3 or Opus job also keeps a FLAC of the rendered WAV
(`audio/{id}.flac`, swept by retention with the rest of its audio), except the
composer's, which re-renders the same samples from the record when an edit needs
them (RECREATE). The record's `master` names it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import redis
from celery.exceptions import SoftTimeLimitExceeded

from storage import CONTENT_TYPES, ObjectNotFound, StorageError, audio_key
from tasks.app import app
from tasks.config.services import audio_storage, job_store
from tasks.config.settings import get_settings
from tasks.exports import make_exports
from tasks.generate import JobFailed
from tasks.jobs.edits import RECREATE, RECREATES
from tasks.jobs.status import Status
from tasks.jobs.store import CPU_STAGES
from tasks.signs_of_life import signs_of_life

log = logging.getLogger("tasks.encode")

_TRANSIENT = (StorageError, redis.ConnectionError, redis.TimeoutError)


@app.task(name="music.encode", bind=True, acks_late=True, max_retries=5)
def encode(self, job_id: str, format: str):  # noqa: A002  (the job field's name)
    jobs = job_store()
    extra = {"job_id": job_id}
    record = jobs.get(job_id)
    if (record is None or record["status"] != Status.STARTED
            or record.get("stage") not in CPU_STAGES):
        # Already finished by an earlier run, canceled, expired: nothing to do.
        status = record["status"] if record else "missing"
        log.info("not encoding a job in state %s", status, extra=extra)
        return {"job_id": job_id, "status": status}
    settings = get_settings()
    try:
        with signs_of_life(jobs, job_id, every=min(10.0, settings.stall_seconds / 6)):
            if format != "wav":
                size, master = _encode(job_id, format, record.get("engine"))
            else:
                size, master = record.get("size_bytes"), audio_key(job_id)
            made = _exports(job_id, record)
    except _TRANSIENT as exc:
        if self.request.retries < self.max_retries:
            log.warning("encode failed (%s); retrying", exc, extra=extra)
            raise self.retry(exc=exc, countdown=min(60, 2 * 2**self.request.retries)) from None
        message = "could not store the encoded audio; please try again"
    except ObjectNotFound:
        message = "the rendered audio to encode is missing"
    except SoftTimeLimitExceeded:
        message = f"encoding the audio as {format} took longer than its time limit"
    except Exception:
        log.exception("encoding crashed", extra=extra)
        message = f"internal error while encoding the audio as {format}"
    else:
        key = audio_key(job_id, format)
        if jobs.finish(job_id, audio_key=key, size_bytes=size, master=master,
                       **made) != "ok":
            log.warning("job changed state while encoding", extra=extra)
        if format != "wav":
            _forget_wav(job_id)
        log.info("job encoded as %s (%d bytes)", format, size, extra=extra)
        return {"job_id": job_id, "audio_key": key, "size_bytes": size}
    jobs.fail(job_id, message)
    if format != "wav":
        _forget_wav(job_id)
    log.warning("job failed: %s", message, extra=extra)
    raise JobFailed(message)


LOSSLESS = ("wav", "flac")


def _encode(job_id: str, fmt: str, engine: str | None) -> tuple[int, str]:
    """(size of the delivered file, key of the lossless master)"""
    # numpy + soundfile: only the encoder image has them, and Flower, beat and
    # the maintenance worker load this module from the API image.
    from inference.encode import encode_file

    storage = audio_storage()
    with tempfile.TemporaryDirectory(prefix="encode-") as folder:
        source, dest = Path(folder, "in.wav"), Path(folder, f"out.{fmt}")
        storage.download(audio_key(job_id), source)
        encode_file(source, dest, fmt)
        storage.put_file(audio_key(job_id, fmt), dest, CONTENT_TYPES[fmt])
        if fmt in LOSSLESS:
            return os.path.getsize(dest), audio_key(job_id, fmt)
        if engine in RECREATES:
            return os.path.getsize(dest), RECREATE
        master = audio_key(job_id, "flac")
        encode_file(source, Path(folder, "master.flac"), "flac")
        storage.put_file(master, Path(folder, "master.flac"), CONTENT_TYPES["flac"])
        return os.path.getsize(dest), master


def _exports(job_id: str, record: dict) -> dict:
    """The finished record's `exports_made`: those recorded earlier plus the pending ones."""
    pending = record.get("exports_pending") or []
    if not pending:
        return {}
    made = make_exports(job_id, record, pending, audio_storage())
    return {"exports_made": {**(record.get("exports_made") or {}), **made}}


def _forget_wav(job_id: str) -> None:
    # The intermediate WAV is no longer served; retention would sweep it anyway.
    try:
        audio_storage().delete(audio_key(job_id))
    except StorageError as exc:
        log.warning("could not delete the intermediate WAV (%s)", exc, extra={"job_id": job_id})
