"""Pending webhook deliveries and their attempts, in the jobs Redis DB.

- `webhooks:due` (sorted set, tasks.jobs.store.WEBHOOKS_DUE_KEY): member
  "{job id}:{event}", score = when the next attempt is due. The job's
  transition adds it in the same Lua script that changes the status.
- `webhook:{job id}` (hash, same lifetime as the record): per event, a JSON
  state {id, url, client, payload, state, attempts, next_attempt_at}; state is
  pending, delivered or failed.

Retries wait along the settings' schedule. Waits up to COUNTDOWN_MAX go out
as Celery countdowns; longer ones stay only in the sorted set, which the beat
sweep reads: a countdown longer than the broker's visibility timeout would be
redelivered over and over before it is due.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from tasks.clients.store import client_of
from tasks.jobs.store import WEBHOOK_DISPATCH_LEASE, WEBHOOKS_DUE_KEY, JobStore
from tasks.webhooks.payload import build_event, message_id

COUNTDOWN_MAX = 60.0  # seconds; far below the visibility timeout (celeryconfig)


def _state_key(job_id: str) -> str:
    return f"webhook:{job_id}"


def _member(job_id: str, event: str) -> str:
    return f"{job_id}:{event}"


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def load(jobs: JobStore, job_id: str) -> dict[str, dict]:
    """Every event's delivery state for a job ({} without webhooks)."""
    raw = jobs.r.hgetall(_state_key(job_id))
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def prepare(jobs: JobStore, job_id: str, event: str) -> dict | None:
    """Build and keep the event's body (once: the first build is what every retry sends)."""
    states = load(jobs, job_id)
    state = states.get(event)
    if state is None:
        return None
    if state.get("payload"):
        return state
    record = jobs.get(job_id)
    if record is None:
        return None
    state = {
        "id": message_id(job_id, event), "event": event, "url": record.get("webhook"),
        "client": client_of(record.get("owner")), "payload": build_event(record, event),
        "state": "pending", "attempts": [], "next_attempt_at": None,
    }
    jobs.r.hset(_state_key(job_id), event, json.dumps(state))
    return state


def dispatch(jobs: JobStore, job_id: str, event: str) -> None:
    """The fast path after a transition (JobStore.on_webhook): body now, delivery queued now.

    No publish retries: this runs inside a cancel request or right after a job's
    run, and a broker that is down must not hold either; the sweep sends it later.
    """
    prepare(jobs, job_id, event)
    send_delivery(job_id, event, retry=False)


def send_delivery(job_id: str, event: str, countdown: float | None = None,
                  retry: bool = True) -> None:
    from tasks.app import app

    app.send_task("music.deliver_webhook", kwargs={"job_id": job_id, "event": event},
                  queue="webhooks", countdown=countdown, retry=retry)


def record_attempt(jobs: JobStore, state: dict, job_id: str, attempt: dict,
                   next_wait: float | None, final_state: str | None) -> dict:
    """Add an attempt; schedule the next one (next_wait seconds) or end (final_state)."""
    now = time.time()
    member = _member(job_id, state["event"])
    pipe = jobs.r.pipeline()  # MULTI: the state and the due set move together
    if final_state is not None:
        state["state"], state["next_attempt_at"] = final_state, None
        pipe.zrem(WEBHOOKS_DUE_KEY, member)
    else:
        due = now + next_wait
        state["next_attempt_at"] = _iso(due)
        # A countdown message will come; the sweep only steps in if it is lost.
        score = due + WEBHOOK_DISPATCH_LEASE if next_wait <= COUNTDOWN_MAX else due
        pipe.zadd(WEBHOOKS_DUE_KEY, {member: score})
    state["attempts"].append({**attempt, "next_attempt_at": state["next_attempt_at"]})
    pipe.hset(_state_key(job_id), state["event"], json.dumps(state))
    pipe.execute()
    if final_state is None and next_wait <= COUNTDOWN_MAX:
        send_delivery(job_id, state["event"], countdown=next_wait)
    return state


def sweep(jobs: JobStore, limit: int = 500) -> int:
    """Send every delivery that is due (beat, every few seconds); returns how many."""
    now = time.time()
    due = jobs.r.zrangebyscore(WEBHOOKS_DUE_KEY, "-inf", now, start=0, num=limit)
    for raw in due:
        job_id, _, event = raw.decode().rpartition(":")
        # Pushed one lease ahead first: the next sweep leaves it to this send.
        jobs.r.zadd(WEBHOOKS_DUE_KEY, {raw: now + WEBHOOK_DISPATCH_LEASE}, xx=True)
        send_delivery(job_id, event)
    return len(due)


def public_block(jobs: JobStore, record: dict) -> dict:
    """The `webhook` block of GET /api/jobs/{id}: URL, events and every attempt."""
    states = load(jobs, record["job_id"])
    deliveries = []
    for event, state in sorted(states.items()):
        # {} until the body is built: pending, nothing tried yet
        shown = {"id": message_id(record["job_id"], event), "event": event, "state": "pending",
                 "attempts": [], "next_attempt_at": None, **state}
        deliveries.append({k: shown[k] for k in ("id", "event", "state", "attempts",
                                                  "next_attempt_at")})
    return {"url": record.get("webhook"), "events": record.get("webhook_events_filter"),
            "deliveries": deliveries}
