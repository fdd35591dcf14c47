from flask import Blueprint, current_app, jsonify, request, session

from tasks.jobs.edits import SourceRefused, resolve
from tasks.jobs.params import InvalidParams, JobParams
from tasks.jobs.status import Status
from tasks.jobs.submit import (
    QueueUnavailable,
    TooManyActiveJobs,
    estimated_wait,
    retry_after,
    submit,
)
from web.errors import ApiError
from web.extensions import limiter
from web.identity import client_key, existing_owner, session_owner
from web.job_access import jobs

bp = Blueprint("generate", __name__)


def _session_key() -> str:
    return "owner:" + session_owner()


def _ip_key() -> str:
    return "ip:" + client_key()


def _settings():
    return current_app.config["SETTINGS"]


@bp.post("/api/generate")
@limiter.limit(lambda: _settings().rate_limit_session, key_func=_session_key)
@limiter.limit(lambda: _settings().rate_limit_ip, key_func=_ip_key)
def create():
    if not request.is_json:
        raise ApiError(415, "Content-Type must be application/json")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # e.g. 8,000 nested [ fit under the body cap
        raise ApiError(400, "Malformed JSON body (nested too deeply)") from None
    if body is None and request.get_data(cache=True).strip() not in (b"null",):
        raise ApiError(400, "Malformed JSON body")
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    try:
        params = JobParams.parse(body)
        # An edit's source is checked as the job routes check a job: a caller
        # without a session owns nothing ("" matches no record's owner).
        edit = resolve(jobs(), params, existing_owner() or "") if params.is_edit else None
    except (InvalidParams, SourceRefused) as exc:
        raise ApiError(exc.status, str(exc)) from None
    duration = edit.duration if edit else params.duration

    settings = _settings()
    try:
        record = submit(jobs(), settings, session_owner(), params, client_key=client_key(),
                        edit=edit)
    except TooManyActiveJobs as exc:
        who = "this session" if exc.scope == "session" else "your network address"
        raise ApiError(
            429,
            f"Too many active jobs: {exc.active} jobs are still waiting or running for {who} "
            f"(at most {exc.limit}); submit again when one has finished",
            {"Retry-After": str(retry_after(jobs(), settings, duration))},
        ) from None
    except QueueUnavailable:
        raise ApiError(
            503, "The job queue is unavailable right now; please retry shortly",
            {"Retry-After": "5"},
        ) from None
    job_id = record["job_id"]
    # Re-save the session: its life restarts now, so it outlives this job's
    # record (see PERMANENT_SESSION_LIFETIME in create_app).
    session.modified = True
    response = jsonify(
        job_id=job_id,
        status=Status.QUEUED,
        estimated_wait=estimated_wait(jobs(), settings, job_id, duration),
        queue_position=record["queue_position"],
        seed=record["seed"],
    )
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{job_id}"
    return response
