"""One delivery step for one job event: lock, send once, record, schedule the next."""

from __future__ import annotations

import logging
import secrets

from tasks.clients.store import ClientStore, UnknownClient
from tasks.config.settings import Settings
from tasks.jobs.store import JobStore
from tasks.webhooks import outbox, sender
from tasks.webhooks.policy import AllowList

log = logging.getLogger("tasks.webhooks")


def deliver(jobs: JobStore, clients: ClientStore, settings: Settings, job_id: str,
            event: str) -> str:
    """Returns what happened: delivered, retry, stop, failed, busy or nothing to do."""
    lock = f"webhook:lock:{job_id}:{event}"
    token = secrets.token_hex(8)
    # One attempt at a time per event (a sweep and a countdown may both send it).
    if not jobs.r.set(lock, token, nx=True, px=int((settings.webhook_timeout_seconds + 30) * 1000)):
        return "busy"
    try:
        return _attempt(jobs, clients, settings, job_id, event)
    finally:
        if jobs.r.get(lock) == token.encode():
            jobs.r.delete(lock)


def _attempt(jobs, clients, settings, job_id, event) -> str:
    state = outbox.prepare(jobs, job_id, event)
    extra = {"job_id": job_id}
    if state is None or state.get("state") != "pending":
        jobs.r.zrem(outbox.WEBHOOKS_DUE_KEY, f"{job_id}:{event}")
        return "nothing to do"
    try:
        signing = clients.signing_secrets(state["client"]) if state.get("client") else []
    except UnknownClient:
        signing = []
    if not signing or not state.get("url"):
        attempt = sender.Attempt("stop", None, "no API client to sign for", 0)
    else:
        attempt = sender.send(state["url"], state["id"], state["payload"], signing,
                              AllowList.parse(settings.webhook_allow_hosts),
                              settings.webhook_timeout_seconds)
    tried = len(state["attempts"]) + 1
    schedule = settings.webhook_retry_schedule
    if attempt.outcome == "retry" and tried <= len(schedule):
        outbox.record_attempt(jobs, state, job_id, attempt.as_record(), schedule[tried - 1], None)
        log.info("webhook attempt %d failed (%s); next in %gs", tried, attempt.error,
                 schedule[tried - 1], extra=extra)
        return "retry"
    final = "delivered" if attempt.outcome == "delivered" else "failed"
    outbox.record_attempt(jobs, state, job_id, attempt.as_record(), None, final)
    log.info("webhook %s %s after %d attempt(s)%s", event, final, tried,
             f": {attempt.error}" if attempt.error else "", extra=extra)
    return final
