"""Give jobs whose run went silent, or whose message was lost, back to the queue.

A running job touches `running` every few seconds. If its worker vanishes
whole (machine lost) or loses the broker mid-job (Celery then cancels the run
and cannot acknowledge or reject the message), the message would only come
back after the broker's visibility timeout (an hour or more). This sweep puts
such a job back in the queue after STALL_SECONDS of silence instead.

A job whose record says `queued` but whose message is in no queue list and
not held by any worker lost that message (a failover drops the writes the
old primary had not yet replicated): after STALL_SECONDS it is sent again.

Either way the job keeps its id, so a late or duplicate delivery of the old
message finds it started (alive: dropped) or finished (nothing to do), and the
audio key is the same: never two runs finishing, never two objects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tasks.config.settings import Settings
from tasks.jobs.params import JobParams
from tasks.jobs.status import Status
from tasks.jobs.store import CPU_STAGES, JobStore
from tasks.jobs.submit import enqueue, send_encode

log = logging.getLogger("tasks.jobs.stalled")


def requeue_stalled(
    jobs: JobStore, settings: Settings, older_than: float | None = None,
    queued_message_ids: Callable[[], set[str]] | None = None,
) -> dict:
    """`queued_message_ids`: the broker's generation message ids (tasks.jobs.broker);
    without it, lost messages of queued jobs are not looked for."""
    silence = settings.stall_seconds if older_than is None else older_than
    requeued = []
    for job_id in jobs.stalled(silence):
        record = jobs.get(job_id) or {}
        if record.get("status") == "started" and record.get("stage") in CPU_STAGES:
            # Rendered already: only the encoding went silent. Encoding again is
            # idempotent; rendering again would spend GPU time for nothing.
            jobs.touch(job_id)
            send_encode(job_id, record.get("format", "wav"))
            log.warning("re-sent a silent encoding", extra={"job_id": job_id})
            requeued.append(job_id)
            continue
        if not jobs.requeue(job_id, silence):
            continue
        record = jobs.get(job_id)
        # Priority 0: it already waited its turn once.
        enqueue(settings, job_id, JobParams.from_record(record).as_dict(), priority=0)
        log.warning("requeued a job silent for over %ss", silence, extra={"job_id": job_id})
        requeued.append(job_id)
    resent = []
    if queued_message_ids is not None:
        resent = resend_lost(jobs, settings, silence, queued_message_ids)
    return {"requeued": requeued, "resent": resent}


def resend_lost(
    jobs: JobStore, settings: Settings, older_than: float,
    queued_message_ids: Callable[[], set[str]],
) -> list[str]:
    """Send again the queued jobs (waiting over `older_than` s) that have no message."""
    waiting = jobs.queued_since(older_than)
    if not waiting:
        return []
    present = queued_message_ids()
    resent = []
    for job_id in waiting:
        if job_id in present:
            continue
        # Read after the broker: a job a worker took meanwhile is started now.
        record = jobs.get(job_id)
        if not record or record.get("status") != Status.QUEUED:
            continue
        enqueue(settings, job_id, JobParams.from_record(record).as_dict(), priority=0)
        log.warning("re-sent a queued job whose message was lost", extra={"job_id": job_id})
        resent.append(job_id)
    return resent
