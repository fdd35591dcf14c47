import logging
import re
import threading

from flask import Blueprint, current_app, jsonify, request

from tasks.webhooks.outbox import public_block as webhook_block
from web.auth import api_client
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
    if "cursor" in request.args or api_client() is not None:
        return _page(owner, request.args.get("cursor") or None, limit)
    # Without a session there is nothing to list, and no session is created.
    records, total = jobs().list_for_owner(owner, offset, limit) if owner else ([], 0)
    return jsonify(jobs=[public_job(r) for r in records], total=total, offset=offset, limit=limit)


# "{score}~{job id}": where the previous page ended (score: the job's creation time).
CURSOR_RE = re.compile(r"^(\d{1,20}(?:\.\d{1,20})?)~([A-Za-z0-9_-]{1,64})\Z")


def _page(owner: str | None, cursor: str | None, limit: int):
    """Cursor pages (API clients' default): `next_cursor` until the last page, then null."""
    after = None
    if cursor:
        found = CURSOR_RE.match(cursor)
        if found is None:
            raise ApiError(400, "cursor is not one this API returned")
        after = (float(found.group(1)), found.group(2))
    records, following = jobs().page_for_owner(owner, after, limit) if owner else ([], None)
    next_cursor = None if following is None else f"{following[0]!r}~{following[1]}"
    return jsonify(jobs=[public_job(r) for r in records], next_cursor=next_cursor, limit=limit)


@bp.get("/api/jobs/<job_id>")
def get_job(job_id: str):
    # Read-limited like every read, in the same round trip as the record (web/poll.py).
    record = owned_job(job_id, job_poll().get(job_id))
    view = public_job(record)
    if record.get("webhook"):  # its deliveries' attempts: one more read, webhook jobs only
        view["webhook"] = webhook_block(jobs(), record)
    return jsonify(view)


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
