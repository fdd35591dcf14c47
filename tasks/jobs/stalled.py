"""Give jobs whose run went silent back to the queue.

A running job touches `running` every few seconds. If its worker vanishes
whole (machine lost) or loses the broker mid-job (Celery then cancels the run
and cannot acknowledge or reject the message), the message would only come
back after the broker's visibility timeout (an hour or more). This sweep puts
such a job back in the queue after STALL_SECONDS of silence instead. The job
keeps its id, so a late redelivery of the old message finds it finished and
does nothing, and the audio key is the same: never two objects.
"""

from __future__ import annotations

import logging

from tasks.config.services import job_store
from tasks.config.settings import get_settings
from tasks.jobs.params import JobParams
from tasks.jobs.store import CPU_STAGES
from tasks.jobs.submit import enqueue, send_encode

log = logging.getLogger("tasks.jobs.stalled")

def requeue_stalled(older_than: float | None = None) -> dict:
    settings = get_settings()
    jobs = job_store()
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
    return {"requeued": requeued}
