"""Submitting jobs and estimating waits: what the API needs from the queue."""

from __future__ import annotations

import math
import secrets

from inference.contract import resolve_seed
from tasks.app import app
from tasks.config.settings import Settings
from tasks.jobs.params import JobParams
from tasks.jobs.store import JobStore


class QueueUnavailable(RuntimeError):
    """The broker did not take the job; nothing was queued."""


def new_job_id() -> str:
    # 72 random bits in 12 URL-safe characters, like the guide's example ids.
    return secrets.token_urlsafe(9)


def kwargs_repr(fields: dict, limit: int = 60) -> str:
    """What Flower shows as the task's kwargs: short and readable (long texts cut)."""

    def short(value):
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 1] + "…"
        return value

    return repr({k: short(v) for k, v in fields.items() if v is not None})


def submit(jobs: JobStore, settings: Settings, owner: str, params: JobParams) -> dict:
    """Record the job, then enqueue it with limits scaled to its duration."""
    job_id = new_job_id()
    seed = resolve_seed(params.seed)
    fields = {**params.as_dict(), "seed": seed}
    record = jobs.create(job_id, owner, fields)
    try:
        enqueue(settings, job_id, fields)
    except Exception as exc:
        # Nothing was queued, so no record may claim otherwise.
        jobs.delete(job_id)
        raise QueueUnavailable(str(exc)) from exc
    return record


def enqueue(settings: Settings, job_id: str, fields: dict) -> None:
    """Send the job's message: task id = job id, limits scaled to its duration."""
    soft, hard = settings.time_limits(int(fields["duration"]))
    app.send_task(
        "music.generate",
        kwargs=fields,
        task_id=job_id,
        kwargsrepr=kwargs_repr(fields),
        queue="music",
        soft_time_limit=soft,
        time_limit=hard,
    )


ENCODE_TIME_LIMITS = (300, 330)  # soft, hard: seconds for compressing one piece


def send_encode(job_id: str, fmt: str) -> None:
    """Queue the compression of a rendered job's WAV (tasks.encode, CPU workers)."""
    soft, hard = ENCODE_TIME_LIMITS
    app.send_task(
        "music.encode",
        kwargs={"job_id": job_id, "format": fmt},
        queue="encode",
        soft_time_limit=soft,
        time_limit=hard,
    )


def estimated_wait(jobs: JobStore, settings: Settings, job_id: str, duration: int) -> int:
    """Seconds until this job's audio should be ready.

    (run time of every job ahead) / (live workers) + this job's own run time,
    using the recent mean run time per duration, or the configured
    seconds-per-audio-second before there is any history.
    """

    def runtime(d: int) -> float:
        mean = jobs.mean_runtime(d)
        return mean if mean is not None else d * settings.default_seconds_per_audio_second

    ahead = 0.0
    cache: dict[int, float] = {}
    for d in jobs.queued_durations(jobs.jobs_ahead(job_id)):
        ahead += cache.setdefault(d, runtime(d))
    workers = max(1, jobs.live_workers())
    return int(math.ceil(ahead / workers + runtime(duration)))
