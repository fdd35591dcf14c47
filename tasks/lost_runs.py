"""What the worker's parent process knows about a job's run and the child does not.

When a pool child dies mid-job (SIGKILL, OOM killer) or is killed at the hard
time limit, only the parent process sees it. It tells the job store, so that
the start script can tell a lost run (count a loss, render again) from a
duplicate delivery (drop it), and a run killed at its hard limit fails as
timed out instead of coming back as "worker lost".
"""

from __future__ import annotations

import logging

from celery.exceptions import WorkerLostError
from celery.worker.request import Request

from tasks.config.services import job_store
from tasks.jobs.store import JOB_ID_RE, TIME_LIMIT_ERROR

log = logging.getLogger("tasks.lost_runs")


class JobRequest(Request):
    def on_timeout(self, soft, timeout):
        if not soft and JOB_ID_RE.match(self.id or ""):
            _best_effort(lambda: job_store().fail(self.id, TIME_LIMIT_ERROR), self.id)
        return super().on_timeout(soft, timeout)

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        # billiard hands the error over wrapped (ExceptionWithTraceback.exc).
        exc = getattr(exc_info.exception, "exc", exc_info.exception)
        if isinstance(exc, WorkerLostError) and JOB_ID_RE.match(self.id or ""):
            _best_effort(lambda: job_store().mark_lost(self.id), self.id)
        return super().on_failure(exc_info, send_failed_event=send_failed_event,
                                  return_ok=return_ok)


def _best_effort(call, job_id: str) -> None:
    # Runs in the worker's main process: a Redis blip must not break it. The
    # stall sweep and the start script's deadline still catch the job.
    try:
        call()
    except Exception:
        log.warning("could not record the end of a lost run", extra={"job_id": job_id},
                    exc_info=True)
