import logging
import threading

from flask import Blueprint, current_app, jsonify, request

from web.errors import ApiError
from web.extensions import read_limit
from web.identity import existing_owner
from web.job_access import jobs, owned_job, public_job
from web.poll import job_poll

bp = Blueprint("jobs", __name__)
log = logging.getLogger("web.jobs")


@bp.get("/api/jobs")
@read_limit
def list_jobs():
    try:
        limit = int(request.args.get("limit", 20))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise ApiError(400, "limit and offset must be integers") from None
    # offset is bounded: past int64, Redis's ZREVRANGE errors (was a 500).
    if not 1 <= limit <= 100 or not 0 <= offset <= 1_000_000:
        raise ApiError(400, "limit must be 1..100 and offset 0..1000000")
    owner = existing_owner()
    # Without a session there is nothing to list, and no session is created.
    records, total = jobs().list_for_owner(owner, offset, limit) if owner else ([], 0)
    return jsonify(jobs=[public_job(r) for r in records], total=total, offset=offset, limit=limit)


@bp.get("/api/jobs/<job_id>")
def get_job(job_id: str):
    # Read-limited like every read, in the same round trip as the record (web/poll.py).
    return jsonify(public_job(owned_job(job_id, job_poll().get(job_id))))


@bp.delete("/api/jobs/<job_id>")
@read_limit
def cancel_job(job_id: str):
    owned_job(job_id)
    outcome = jobs().cancel(job_id)
    if outcome != "ok":
        raise ApiError(409, f"Only queued jobs can be canceled; this job is {outcome}")
    # The worker also checks the record before starting, so the revoke is only
    # a shortcut that spares it the message: published on the side, and the
    # response never waits for it longer than REVOKE_WAIT_SECONDS (a broker
    # that drops right now would otherwise hold the request in kombu's retries).
    control = current_app.extensions["celery"].control
    publish = threading.Thread(target=_revoke, args=(control, job_id), daemon=True)
    publish.start()
    publish.join(REVOKE_WAIT_SECONDS)
    return "", 204


REVOKE_WAIT_SECONDS = 1.0


def _revoke(control, job_id: str) -> None:
    try:
        control.revoke(job_id)
    except Exception as exc:
        # Safe to drop: the record already says canceled and the worker checks it.
        log.warning("revoke not sent (%s): %s", type(exc).__name__, exc, extra={"job_id": job_id})
