"""`GET /api/jobs/{id}/events`: a job's status and progress as server-sent events.

The stream starts with an event for the job's current state, then sends one
event per status change and progress step, and ends after a terminal state
(or after EVENTS_MAX_SECONDS; EventSource then reconnects by itself). Every
event is named after the job's status (``progress`` for progress steps) and
carries the job's public JSON, as ``GET /api/jobs/{id}`` shows it; the first
``queued`` event also has ``estimated_wait`` (seconds). Queue positions are not
published, so a queued job's position is re-checked every few seconds.
Each event's `id` names the state it reports; a client reconnecting with
`Last-Event-ID` (EventSource does) gets only what is newer than that, so a
stream cut by a failover or a restart still ends with the terminal event.

Under gunicorn's gevent worker an open stream is an idle greenlet waiting on a
queue fed by the process's single pub/sub connection (see web/live.py). Each
open stream also holds a slot under MAX_STREAMS_PER_SESSION and
MAX_STREAMS_PER_IP (web/stream_slots.py), returned when the response closes.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, stream_with_context

from tasks.jobs.submit import estimated_wait
from web.errors import ApiError
from web.event_stream import JobEventStream
from web.extensions import read_limit
from web.identity import client_key
from web.job_access import check_job_id, jobs, owned_job
from web.live import hub_for
from web.stream_slots import StreamCapExceeded

bp = Blueprint("events", __name__)

KEEPALIVE_SECONDS = 15.0


@bp.get("/api/jobs/<job_id>/events")
@read_limit
def job_events(job_id: str):
    check_job_id(job_id)  # a malformed id is a 404 before the live feed is involved
    store = jobs()
    # Subscribe first, then read the record (owned_job): no transition can fall
    # between the snapshot and the live feed.
    sub = hub_for(store).subscribe(job_id)
    config = current_app.config
    settings = config["SETTINGS"]
    try:
        record = owned_job(job_id)
        slot = current_app.extensions["stream_slots"].acquire([
            ("session", record["owner"], settings.max_streams_per_session),
            ("ip", client_key(), settings.max_streams_per_ip),
        ])
    except StreamCapExceeded as exc:
        sub.close()
        raise ApiError(
            429, f"Too many open event streams: {exc}; close one first",
            {"Retry-After": "5"},
        ) from None
    except BaseException:
        sub.close()
        raise
    stream = JobEventStream(
        sub,
        record,
        fetch=store.get,
        wait_estimate=lambda rec: estimated_wait(
            store, settings, rec["job_id"], int(rec.get("duration") or 60)
        ),
        keepalive=float(config.get("EVENTS_KEEPALIVE_SECONDS", KEEPALIVE_SECONDS)),
        max_seconds=float(settings.events_max_seconds),
        last_event_id=request.headers.get("Last-Event-ID"),
    )
    response = Response(stream_with_context(iter(stream)), mimetype="text/event-stream")
    # HEAD, or a client gone before the first byte: the body is never iterated,
    # so the subscription is released when the server closes the response.
    response.call_on_close(stream.close)
    response.call_on_close(slot.release)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
