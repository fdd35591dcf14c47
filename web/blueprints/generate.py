from flask import Blueprint, current_app, jsonify, request, session

from tasks.jobs.edits import Edit, SourceRefused, resolve
from tasks.jobs.params import InvalidParams, JobParams
from tasks.jobs.status import Status
from tasks.jobs.submit import (
    QueueUnavailable,
    RateLimited,
    TooManyActiveJobs,
    estimated_wait,
    retry_after,
    submit,
)
from tasks.webhooks.policy import AllowList, WebhookUrlError
from tasks.webhooks.policy import check as check_webhook_url
from web import idempotency
from web.auth import api_client
from web.errors import ApiError
from web.identity import client_key, existing_owner, session_owner
from web.job_access import jobs
from web.submit_limits import submit_limits

bp = Blueprint("generate", __name__)


def _session_key() -> str:
    return "owner:" + session_owner()


def _owner_rate() -> str:
    """The generation rate of this caller: its API client's, else the session's."""
    client = api_client()
    if client is not None:
        return client.rate or _settings().rate_limit_client
    return _settings().rate_limit_session


def _owner_cap() -> int:
    client = api_client()
    if client is not None:
        return client.max_active or _settings().max_active_jobs_per_client
    return _settings().max_active_jobs_per_session


def _ip_key() -> str:
    return "ip:" + client_key()


def _settings():
    return current_app.config["SETTINGS"]


def _limits() -> list[tuple[str, str]]:
    """The caller's generation rate, and its network's (per-IP limits stop cookie
    rotation; a key client is counted by its key instead)."""
    limits = [(_owner_rate(), _session_key())]
    if api_client() is None:
        limits.append((_settings().rate_limit_ip, _ip_key()))
    return limits


def _take_limits() -> None:
    """A submit refused before its job's script still counts, as under Flask-Limiter,
    and past a full limit it is a 429 first."""
    if not idempotency.exempt():  # a replay, a mismatch or a request in progress
        submit_limits().take(_limits(), report=api_client() is not None)


@bp.post("/api/generate")
def create():
    try:
        if not request.is_json:
            raise ApiError(415, "Content-Type must be application/json")
        replay = idempotency.check()
        if replay is not None:
            return _accepted(*replay, replayed=True)
        params, edit = _read_params()
        record_fields = _webhook_fields(params, api_client(), _settings())
    except ApiError:
        _take_limits()
        raise
    duration = edit.duration if edit else params.duration

    settings = _settings()
    client = api_client()
    owner = session_owner()
    # The session's life restarts with each job, so it outlives the job's record
    # (PERMANENT_SESSION_LIFETIME in create_app): an existing one in the job's own
    # script, a new one (or one gone meanwhile) by saving it. Key requests have none.
    renew = None if client or session.modified else current_app.session_interface.renewal(session)
    # The rate limits are counted by the job's own script (web/submit_limits.py).
    limited = None if idempotency.exempt() else submit_limits().windows(
        _limits(), report=client is not None)
    windows, pairs = limited or (None, None)
    try:
        record = submit(
            jobs(), settings, owner, params,
            client_key=None if client else client_key(), max_owner=_owner_cap(),
            record_fields=record_fields, edit=edit, renew=renew, windows=windows,
        )
    except RateLimited as exc:
        raise submit_limits().refused(pairs, exc.index, exc.oldest) from None
    except TooManyActiveJobs as exc:
        who = "your network address"
        if exc.scope == "session":
            who = "this API client" if client else "this session"
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
    if "window" in record:
        submit_limits().reported(pairs, *record["window"])
    job_id = record["job_id"]
    if client is None:
        if record["renewed"]:
            current_app.session_interface.renewed()
        else:
            session.modified = True
    body = {
        "job_id": job_id,
        "status": Status.QUEUED,
        "estimated_wait": estimated_wait(jobs(), settings, job_id, duration,
                                         record.get("queue_totals")),
        "queue_position": record["queue_position"],
        "seed": record["seed"],
    }
    idempotency.remember(202, body)
    return _accepted(202, body)


def _read_params() -> tuple[JobParams, Edit | None]:
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
    return params, edit


def _webhook_fields(params: JobParams, client, settings) -> dict | None:
    """Checks a webhook's URL; the record also keeps the URL root the client called,
    for the absolute audio_url in the webhook's body."""
    if params.webhook is None:
        return None
    if client is None:
        raise ApiError(422, "webhook needs an API key (Authorization: Bearer); "
                       "browser sessions follow jobs with GET /api/jobs/{id}/events")
    try:
        check_webhook_url(params.webhook, AllowList.parse(settings.webhook_allow_hosts))
    except WebhookUrlError as exc:
        raise ApiError(422, str(exc)) from None
    return {"api_root": request.url_root}


def _accepted(status: int, body: dict, replayed: bool = False):
    response = jsonify(body)
    response.status_code = status
    response.headers["Location"] = f"/api/jobs/{body['job_id']}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
