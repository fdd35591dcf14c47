"""Shared helpers for the job routes: lookup with ownership, public shape."""

from __future__ import annotations

from flask import current_app

from tasks.jobs.params import JobParams
from tasks.jobs.status import Status
from tasks.jobs.store import JOB_ID_RE, JobStore
from web.errors import ApiError
from web.identity import existing_owner

_PUBLIC = (
    "job_id",
    "status",
    "created_at",
    "enqueued_at",
    "started_at",
    "finished_at",
    *JobParams.names(),
    "engine",
    "model",
)


def jobs() -> JobStore:
    return current_app.extensions["jobs"]


def check_job_id(job_id: str) -> None:
    if not JOB_ID_RE.match(job_id):
        raise ApiError(404, "Job not found")


_UNREAD = object()


def owned_job(job_id: str, record: dict | None = _UNREAD) -> dict:
    """The job if it exists and belongs to this session: else 404 or 403.

    `record`: the job's record when the caller has read it already (None: gone).
    """
    check_job_id(job_id)
    if record is _UNREAD:
        record = jobs().get(job_id)
    if record is None:
        raise ApiError(404, "Job not found")
    # No session (or one Redis does not know) owns nothing; none is created here.
    if record.get("owner") != existing_owner():
        raise ApiError(403, "This job belongs to another session")
    return record


def job_format(record: dict) -> str:
    return record.get("format") or "wav"  # records from before formats existed are WAV


def public_job(record: dict) -> dict:
    view = {name: record.get(name) for name in _PUBLIC}
    view = {k: v for k, v in view.items() if v is not None or k in ("genre", "engine")}
    view["format"] = job_format(record)
    view["task"] = record.get("task") or "text2music"
    if view["task"] != "text2music":
        view["segments"] = record.get("segments") or []
        if record.get("snapped"):
            view["snapped"] = record["snapped"]
    status = record["status"]
    if status == Status.QUEUED:
        view["queue_position"] = record.get("queue_position")
    if status == Status.STARTED:
        view["progress"] = int(record.get("progress") or 0)
        if record.get("stage"):
            view["stage"] = record["stage"]
    if status == Status.FINISHED:
        view["progress"] = 100
        for name in ("size_bytes", "peaks"):
            if record.get(name) is not None:
                view[name] = record[name]
        if record.get("expired"):
            view["expired"] = True
        else:
            view["audio_url"] = f"/api/audio/{record['job_id']}"
    if status == Status.FAILED:
        view["error"] = record.get("error") or "generation failed"
    if record.get("understood"):
        view["understood"] = record["understood"]
    return view
