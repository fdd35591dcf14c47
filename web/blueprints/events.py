"""`GET /api/jobs/{id}/events`: a job's status and progress as server-sent events.

The stream starts with an event for the job's current state, then sends one
event per status change and progress step, and ends after a terminal state
(or after EVENTS_MAX_SECONDS; EventSource then reconnects by itself). Every
event is named after the job's status (``progress`` for progress steps) and
carries the job's public JSON, as ``GET /api/jobs/{id}`` shows it; the first
``queued`` event also has ``estimated_wait`` (seconds). Queue positions are not
published, so a queued job's position is re-checked every few seconds.

Under gunicorn's gevent worker an open stream is an idle greenlet waiting on a
queue fed by the process's single pub/sub connection (see web/live.py).
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, stream_with_context

from tasks.jobs.status import TERMINAL, Status
from tasks.jobs.submit import estimated_wait
from web.job_access import check_job_id, jobs, owned_job, public_job
from web.live import RESYNC, Subscription, hub_for

bp = Blueprint("events", __name__)

KEEPALIVE_SECONDS = 15.0
QUEUE_POLL_SECONDS = 3.0  # queue position changes are not published: re-check this often
RETRY_MS = 3000


def _sse(event: str, data: dict, event_id: int) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@bp.get("/api/jobs/<job_id>/events")
def job_events(job_id: str):
    check_job_id(job_id)  # a malformed id is a 404 before the live feed is involved
    store = jobs()
    # Subscribe first, then read the record (owned_job): no transition can fall
    # between the snapshot and the live feed.
    sub = hub_for(store).subscribe(job_id)
    try:
        record = owned_job(job_id)
    except BaseException:
        sub.close()
        raise
    response = Response(
        stream_with_context(_stream(sub, record)),
        mimetype="text/event-stream",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


def _stream(sub: Subscription, record: dict):
    config = current_app.config
    settings = config["SETTINGS"]
    keepalive = float(config.get("EVENTS_KEEPALIVE_SECONDS", KEEPALIVE_SECONDS))
    max_seconds = float(settings.events_max_seconds)
    store = jobs()
    job_id = record["job_id"]
    started = time.monotonic()
    last_sent = started
    last_queue_check = started
    sent = {"status": None, "progress": -1, "queue_position": None}
    counter = 0

    def state_event(rec: dict | None) -> str | None:
        """An event for the record's state, or None if the client has seen it."""
        nonlocal counter
        if rec is None:  # deleted (expired) under us: nothing more will come
            return None
        view = public_job(rec)
        status = view["status"]
        if status == Status.QUEUED:
            if sent["status"] == Status.QUEUED and sent["queue_position"] == view.get(
                "queue_position"
            ):
                return None
            if sent["status"] is None:
                # O(queue length) to compute, so only once per stream; the page
                # counts it down, and later events carry the new queue position.
                view["estimated_wait"] = estimated_wait(
                    store, settings, job_id, int(rec.get("duration") or 60)
                )
        elif status == sent["status"]:
            if status != Status.STARTED or view.get("progress", 0) <= sent["progress"]:
                return None
            return progress_event(view["progress"], view)
        sent.update(
            status=status,
            progress=view.get("progress", -1),
            queue_position=view.get("queue_position"),
        )
        counter += 1
        return _sse(status, view, counter)

    def progress_event(percent: int, view: dict | None = None) -> str | None:
        nonlocal counter
        if sent["status"] != Status.STARTED or percent <= sent["progress"]:
            return None
        sent["progress"] = percent
        data = dict(view) if view else {"job_id": job_id, "status": Status.STARTED}
        data["progress"] = percent
        counter += 1
        return _sse("progress", data, counter)

    try:
        yield f"retry: {RETRY_MS}\n\n"
        first = state_event(record)
        if first:
            yield first
        while sent["status"] not in TERMINAL:
            now = time.monotonic()
            if now - started >= max_seconds:
                yield ": max stream duration reached; reconnect for more\n\n"
                return
            wait = min(
                keepalive - (now - last_sent),
                max_seconds - (now - started),
                QUEUE_POLL_SECONDS if sent["status"] == Status.QUEUED else keepalive,
            )
            message = sub.get(timeout=wait)
            out = None
            if message is None:
                if sent["status"] == Status.QUEUED and (
                    time.monotonic() - last_queue_check >= QUEUE_POLL_SECONDS
                ):
                    last_queue_check = time.monotonic()
                    out = state_event(store.get(job_id))
            elif message is RESYNC or message.get("event") != "progress":
                # The hub read the record once for all of this job's streams.
                rec = message["record"] if "record" in message else store.get(job_id)
                if rec is None:
                    yield ": job no longer exists\n\n"
                    return
                out = state_event(rec)
            else:
                progress = message.get("progress")
                if isinstance(progress, int):
                    out = progress_event(progress)
            if out:
                yield out
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= keepalive:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
    finally:
        sub.close()
