"""Shared helpers for the job routes: lookup with ownership, public shape."""

from __future__ import annotations

from flask import current_app

from tasks.jobs.store import JOB_ID_RE, JobStore
from tasks.jobs.view import job_format, public_job  # noqa: F401  (the routes' job view)
from web.errors import ApiError
from web.identity import existing_owner


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
