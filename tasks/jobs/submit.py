"""Submitting jobs and estimating waits: what the API needs from the queue."""

from __future__ import annotations

import logging
import math
import secrets

import redis

from inference.contract import resolve_seed
from tasks.app import app
from tasks.config.settings import Settings
from tasks.jobs.edits import Edit
from tasks.jobs.message import GenerateMessages
from tasks.jobs.params import DURATIONS, JobParams
from tasks.jobs.store import JobStore, QueueRefused, TooManyActiveJobs
from tasks.jobs.store import client_key as store_client_key
from tasks.jobs.windows import RateLimited, Windows

__all__ = [
    "TooManyActiveJobs", "QueueUnavailable", "RateLimited", "submit", "enqueue",
    "estimated_wait", "retry_after",
]


log = logging.getLogger("tasks.jobs.submit")


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


# Celery message priorities on the Redis transport: 0 is served first. A job
# gets the larger of its owner's and its client IP's active count at submit,
# so anyone's first job runs before anyone's fourth; messages sent without a
# priority (batch CLI, direct send_task) get celeryconfig's default, the last.
INTERACTIVE_PRIORITIES = 9  # 0..8 for the API; 9 is BATCH_PRIORITY
BATCH_PRIORITY = 9


def submit(
    jobs: JobStore, settings: Settings, owner: str, params: JobParams,
    client_key: str | None = None, max_owner: int | None = None,
    record_fields: dict | None = None, edit: Edit | None = None,
    renew: tuple[int, str, int] | None = None, windows: Windows | None = None,
) -> dict:
    """Record and queue the job within the rate windows and caps, in one script, with
    time limits scaled to its duration (an edit's: its result's length; `edit` is
    what tasks.jobs.edits.resolve made of it).

    `max_owner` replaces the per-session cap (an API client's own); without a
    `client_key` no per-IP cap applies. `record_fields` go on the record only.
    `renew`: (DB, key, seconds) of a key whose life restarts with the job (JobStore.create).
    `windows`: rate windows counted first (JobStore.create).
    Raises RateLimited (nothing counted or recorded), TooManyActiveJobs (nothing
    recorded) or QueueUnavailable (nothing queued).
    """
    job_id = new_job_id()
    if edit is None:
        fields = {**params.as_dict(), "seed": resolve_seed(params.seed)}
        stored, duration = fields, params.duration
    else:
        fields, stored, duration = edit.fields, edit.record_fields(), edit.duration
    soft, hard = settings.time_limits(int(duration))
    # Recorded and queued by one script: the message's priority is the larger of
    # the owner's and client's active counts, which the script reads.
    push = _messages(settings).for_job(
        job_id, fields, max_priority=INTERACTIVE_PRIORITIES - 1,
        soft_time_limit=soft, time_limit=hard, kwargsrepr=kwargs_repr(fields),
    )
    try:
        record = jobs.create(
            job_id, owner, {**stored, **(record_fields or {})},
            client=None if client_key is None else store_client_key(client_key),
            max_owner=settings.max_active_jobs_per_session if max_owner is None else max_owner,
            max_client=settings.max_active_jobs_per_ip,
            runtimes=DURATIONS,  # for estimated_wait, in the same round trip
            push=push, renew=renew, windows=windows,
        )
    except QueueRefused as exc:
        raise QueueUnavailable(str(exc)) from exc
    if settings.uses_sentinel and settings.redis_wait_replicas:
        # Replication is asynchronous: without this, a primary lost right
        # after the 202 could take the job with it (README, "Durability").
        try:
            acked = jobs.replicate(job_id, settings.redis_wait_replicas, settings.redis_wait_ms)
        except redis.RedisError as exc:
            # Queued already: answering 503 now would leave a job its client
            # believes refused (and may submit again).
            log.warning("job %s: could not wait for replicas: %s", job_id, exc)
            acked = 0
        if acked < settings.redis_wait_replicas:
            log.warning("job %s acknowledged by %d of %d replicas within %d ms", job_id, acked,
                        settings.redis_wait_replicas, settings.redis_wait_ms)
    return record


_builders: dict[int, GenerateMessages] = {}


def _messages(settings: Settings) -> GenerateMessages:
    db = settings.redis_db_for("broker")
    if db not in _builders:
        _builders[db] = GenerateMessages(app, db)
    return _builders[db]


def enqueue(settings: Settings, job_id: str, fields: dict, priority: int | None = None,
            duration: int | None = None) -> None:
    """Send the job's message: task id = job id, limits scaled to its duration
    (`duration`: the result's length, which an edit's fields do not hold).

    Without a priority the route's default applies (BATCH_PRIORITY).
    """
    soft, hard = settings.time_limits(int(duration or fields["duration"]))
    # One round trip for the message and its task-sent event (kombu's producer
    # batch pipelines both).
    with app.producer_or_acquire() as producer, producer.batch():
        app.send_task(
            "music.generate",
            kwargs=fields,
            task_id=job_id,
            kwargsrepr=kwargs_repr(fields),
            queue="music",
            soft_time_limit=soft,
            time_limit=hard,
            priority=priority,
            producer=producer,
        )


def _runtime(jobs: JobStore, settings: Settings, duration: int,
             means: dict[int, float | None] | None = None) -> float:
    mean = means[duration] if means and duration in means else jobs.mean_runtime(duration)
    return mean if mean is not None else duration * settings.default_seconds_per_audio_second


def retry_after(jobs: JobStore, settings: Settings, duration: int) -> int:
    """Seconds after which a capped client may try again: about one job's run time."""
    return max(1, int(math.ceil(_runtime(jobs, settings, duration))))


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


def estimated_wait(jobs: JobStore, settings: Settings, job_id: str, duration: int,
                   totals: dict | None = None) -> int:
    """Seconds until this job's audio should be ready.

    (run time of the queued jobs ahead) / (live workers) + this job's own run
    time, from running totals (queued jobs per duration) rather than reading
    the queue: the work ahead is the queue's total work times the share of the
    queue ahead of this job. Run times are the recent mean per duration, or
    the configured seconds-per-audio-second before there is any history.
    """
    # Every duration's mean run time comes in the same round trip as the totals
    # (`totals`: as JobStore.create returned them for a job just submitted).
    totals = totals or jobs.queue_totals(job_id, runtimes=DURATIONS)

    def runtime(d: int) -> float:
        return _runtime(jobs, settings, d, totals["runtimes"])

    work = sum(count * runtime(d) for d, count in totals["durations"].items())
    rank, depth = totals["rank"], totals["depth"]
    ahead = 0.0
    if rank and depth > 1:  # the other queued jobs' work, in the share ahead of this one
        ahead = max(0.0, work - runtime(duration)) * rank / (depth - 1)
    workers = max(1, totals["workers"])
    return int(math.ceil(ahead / workers + runtime(duration)))
