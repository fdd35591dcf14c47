"""The `music.generate` task: validate -> engine -> storage -> job record."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import redis
from celery.exceptions import Ignore, SoftTimeLimitExceeded

from inference.contract import CHANNELS, SAMPLE_RATE, resolve_seed
from inference.errors import EngineError
from storage import StorageError, audio_key
from tasks.app import app
from tasks.config.services import audio_storage, job_store
from tasks.config.settings import get_settings
from tasks.exports import plan_exports
from tasks.jobs.edits import RECREATE, SourceRefused, resolve, source_record
from tasks.jobs.metrics import record_finished
from tasks.jobs.params import InvalidParams, JobParams
from tasks.jobs.status import Status
from tasks.jobs.store import JOB_ID_RE, TIME_LIMIT_ERROR
from tasks.jobs.submit import send_encode
from tasks.signs_of_life import signs_of_life
from tasks.worker import current_engine

log = logging.getLogger("tasks.generate")

BATCH_OWNER = "batch"


class JobFailed(Exception):
    """A job ended in `failed`; the message is the user-facing error."""


@app.task(
    name="music.generate",
    bind=True,
    acks_late=True,
    # Redis (job records) briefly unreachable: try again later, same job id.
    autoretry_for=(redis.ConnectionError, redis.TimeoutError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
    Request="tasks.lost_runs:JobRequest",
)
def generate(self, **fields):
    job_id = self.request.id
    if not isinstance(job_id, str) or not JOB_ID_RE.match(job_id):
        # No record may be keyed by it (and storage would refuse its audio key).
        log.error("refusing a job with an invalid id %r", str(job_id)[:80])
        raise JobFailed("invalid job id: use 8-64 letters, digits, '-' or '_'")
    settings = get_settings()
    jobs = job_store()
    extra = {"job_id": job_id}

    try:
        params = JobParams.parse(fields)
    except InvalidParams as exc:
        jobs.create_if_absent(job_id, BATCH_OWNER, {"prompt": str(fields.get("prompt"))[:500]})
        jobs.fail(job_id, f"invalid input: {exc}")
        log.warning("invalid input: %s", exc, extra=extra)
        raise JobFailed(f"invalid input: {exc}") from None

    stored = params.as_dict()  # what a record made here holds
    length = params.duration
    if params.is_edit:
        # Sent straight to Celery: the source is checked here, as the API does.
        existing = jobs.get(job_id)
        try:
            edit = resolve(jobs, params, None) if existing is None else None
        except (InvalidParams, SourceRefused) as exc:
            jobs.create_if_absent(job_id, BATCH_OWNER, {**stored, "duration": 0})
            jobs.fail(job_id, f"invalid input: {exc}")
            log.warning("invalid input: %s", exc, extra=extra)
            raise JobFailed(f"invalid input: {exc}") from None
        stored = edit.record_fields() if edit else stored
        length = edit.duration if edit else int(existing["duration"])
    elif params.seed is None:
        params = params.model_copy(update={"seed": resolve_seed(None)})
        stored = params.as_dict()
    hard_limit = (self.request.timelimit or (None, None))[0]
    if not hard_limit:
        hard_limit = settings.time_limits(length)[1]

    def start():
        return jobs.start(job_id, settings.max_worker_losses,
                          stall_seconds=settings.stall_seconds, hard_limit=hard_limit)

    outcome, attempts = start()
    if outcome == "missing":  # sent straight to Celery (batch): no record yet
        jobs.create_if_absent(job_id, BATCH_OWNER, stored)
        outcome, attempts = start()
    if outcome == Status.FINISHED:  # a redelivered message for a job already done
        return _result(jobs.get(job_id))
    if outcome == "duplicate":  # another run of this job is alive: leave it alone
        log.warning("dropping a duplicate delivery of a running job", extra=extra)
        # Ignore: acknowledged, and no result stored over the live run's own.
        raise Ignore()
    if outcome == "timed_out":
        raise JobFailed(TIME_LIMIT_ERROR)
    if outcome == "gave_up":
        raise JobFailed(jobs.get(job_id).get("error", "worker lost"))
    if outcome != Status.STARTED:  # canceled (or expired) before it could start
        log.info("not running job in state %s", outcome, extra=extra)
        return {"job_id": job_id, "status": outcome}
    # The record, not the message, is the truth: a redelivered batch message
    # without a seed must render with the seed the record already shows.
    record = jobs.get(job_id)
    params = JobParams.from_record(record)
    log.info("job started (attempt %d)", attempts, extra=extra)

    try:
        with signs_of_life(jobs, job_id, every=min(10.0, settings.stall_seconds / 6)):
            return _run(jobs, job_id, params, settings, record)
    except SoftTimeLimitExceeded:
        message = TIME_LIMIT_ERROR
    except EngineError as exc:
        message = str(exc)
    except StorageError:
        log.exception("storage failed", extra=extra)
        message = "could not store the audio; please try again"
    except (redis.ConnectionError, redis.TimeoutError):
        jobs_retrying(jobs, job_id)
        raise
    except Exception:
        log.exception("generation crashed", extra=extra)
        message = "internal error while generating the audio"
    jobs.fail(job_id, message)
    log.warning("job failed: %s", message, extra=extra)
    raise JobFailed(message)


def jobs_retrying(jobs, job_id: str) -> None:
    # Marks the next start as a retry rather than a lost worker; best effort
    # because Redis itself may be what failed.
    try:
        jobs.update(job_id, retrying="1")
    except Exception as exc:
        # The redelivery then counts as one lost worker: at worst one of the 3.
        log.warning("could not mark the retry (%s)", exc, extra={"job_id": job_id})


def _run(jobs, job_id, params, settings, record) -> dict:
    # numpy-backed, so imported here: Flower, beat and the maintenance worker
    # load this module from the API image, which has no numpy.
    from inference import check_audio
    from inference.encode import peaks

    engine = current_engine()
    info = engine.describe()
    duration = int(record["duration"])
    inputs = {**params.engine_inputs(), "duration": duration}
    understood = engine.understand(**inputs)
    jobs.update(job_id, engine=info.get("engine"), model=info.get("model"), understood=understood)

    last = [-1]

    def progress(fraction: float) -> None:
        percent = max(0, min(100, int(fraction * 100)))
        if percent != last[0]:
            last[0] = percent
            try:
                jobs.set_progress(job_id, percent)
            except (redis.ConnectionError, redis.TimeoutError):
                # A progress update is not worth losing the render over.
                log.warning("could not record progress", extra={"job_id": job_id})

    began = time.monotonic()
    edited: dict = {}
    if params.is_edit:
        result = _edit(jobs, engine, params, inputs, record, progress, settings)
        audio = result.audio
        edited = {"segments": result.segments, **({"snapped": result.snapped}
                                                   if result.snapped else {})}
        if result.understood:
            edited["understood"] = result.understood
    else:
        audio = engine.generate(**inputs, progress=progress)
    audio = check_audio(audio, duration)
    run_seconds = time.monotonic() - began

    overview = peaks(audio)
    key = audio_key(job_id)
    size = _store(audio, engine.sample_rate, key, settings.storage_retries)
    del audio
    wall_seconds = time.monotonic() - began
    # The audio is stored: ride out a short Redis blip here rather than let the
    # task's retry render the whole piece again.
    _patiently(lambda: jobs.record_runtime(duration, wall_seconds))
    done = {"peaks": overview, "run_seconds": round(run_seconds, 3), **edited}
    if params.format == "wav":
        done["master"] = key  # its own lossless master (tasks/encode.py: the others')
    unavailable, exports = plan_exports(params.exports, info)
    if unavailable:
        done["exports_made"] = unavailable
    # What the CPU `encode` queue still has to do, if anything.
    stage = "encoding" if params.format != "wav" else "exporting" if exports else None
    if stage is None:
        outcome = _patiently(lambda: jobs.finish(job_id, audio_key=key, size_bytes=size, **done))
    else:
        # Compressing and exports take seconds of CPU: the `encode` queue does
        # them, so this (GPU) worker takes its next job now. The job stays
        # started meanwhile.
        if exports:  # a WAV job's size is known now; the encoder adds what it makes
            done.update(exports_pending=exports, **({"size_bytes": size}
                                                   if params.format == "wav" else {}))
        outcome = _patiently(lambda: jobs.hand_to_encoder(job_id, stage, **done))
        if outcome == "ok":
            send_encode(job_id, params.format)
            key = audio_key(job_id, params.format)
    if outcome != "ok":
        log.warning("job changed state while running", extra={"job_id": job_id})
    else:
        record_finished(jobs.r, duration, wall_seconds, run_seconds, info.get("engine"))
    done_as = {None: "finished", "encoding": f"rendered (now encoding {params.format})",
               "exporting": "rendered (now making its exports)"}[stage]
    log.info("job %s in %.2fs", done_as, run_seconds, extra={"job_id": job_id})
    return _result({"job_id": job_id, "audio_key": key, "duration": duration,
                    "seed": params.seed, "engine": info.get("engine")})


def _edit(jobs, engine, params, inputs, record, progress, settings):
    """Load the source's lossless master and let the engine edit it."""
    from inference.edit import EditRequest, as_written, read_master

    if not hasattr(engine, "edit"):
        raise EngineError(f"the {engine.name} engine cannot {params.task}")
    owner = None if record.get("owner") == BATCH_OWNER else record.get("owner")
    try:  # still there: it may have expired while this job waited
        source = source_record(jobs, params.source_job, owner)
    except SourceRefused as exc:
        raise EngineError(f"cannot {params.task} the source: {exc}") from None
    if source.get("engine") != engine.name and engine.name == "composer":
        raise EngineError(f"the composer edits only its own pieces; this one was made by "
                          f"{source.get('engine')}")
    src_inputs = {**JobParams.from_record(source).engine_inputs(),
                  "duration": int(source["duration"]), "seed": source["seed"]}
    if source["master"] == RECREATE:  # the composer's lossy jobs: re-rendered, not stored
        if source.get("engine") != engine.name:
            raise EngineError(f"the source's samples are re-created by the {source.get('engine')}"
                              f" engine, not by {engine.name}")
        audio = as_written(engine.generate(**src_inputs))
    else:
        storage = audio_storage()
        with tempfile.TemporaryDirectory(prefix="master-") as folder:
            path = Path(folder, "master")
            _with_backoff(lambda: storage.download(source["master"], path), (StorageError,),
                          settings.storage_retries + 1, 0.5, "master download")
            audio = read_master(path)
    request = EditRequest(
        task=params.task, audio=audio, inputs=inputs, source=src_inputs,
        extend_from=record.get("extend_from"), start=params.start, end=params.end,
        strength=params.strength)
    return engine.edit(request, progress)


def _with_backoff(call, errors: tuple, attempts: int, delay: float, what: str):
    """call(), retried on `errors` after delay, 2x delay, ... (capped at 30 s)."""
    for attempt in range(attempts):
        try:
            return call()
        except errors as exc:
            if attempt == attempts - 1:
                raise
            wait = min(30.0, delay * 2**attempt)
            log.warning("%s failed (%s); retrying in %.1fs", what, exc, wait)
            time.sleep(wait)


def _patiently(call, attempts: int = 6, delay: float = 0.5):
    return _with_backoff(call, (redis.ConnectionError, redis.TimeoutError), attempts, delay,
                         "job record update")


def _store(audio, sample_rate: int, key: str, retries: int) -> int:
    """Store the audio as 16-bit WAV; returns its size in bytes."""
    from inference.wav import write_wav  # numpy: see _run

    storage = audio_storage()
    # Encoded straight into storage: no temporary WAV of our own to copy from.
    # Retried in-process: re-running the task would render the piece again.
    return _with_backoff(
        lambda: storage.put_stream(key, lambda out: write_wav(out, audio, sample_rate)),
        (StorageError,), retries + 1, 0.5, "upload",
    )


def _result(record: dict) -> dict:
    return {
        "job_id": record["job_id"],
        "audio_key": record.get("audio_key"),
        "duration": record.get("duration"),
        "sample_rate": SAMPLE_RATE,
        "channels": CHANNELS,
        "seed": record.get("seed"),
        "engine": record.get("engine"),
    }
