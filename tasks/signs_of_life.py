"""A running job's heartbeat, shared by the render and the encode task."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

log = logging.getLogger("tasks.signs_of_life")


@contextmanager
def signs_of_life(jobs, job_id: str, every: float):
    """Touch the job while it runs, so tasks.jobs.stalled can tell a silent run from a slow one."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                jobs.touch(job_id)
            except Exception:  # Redis blip: the next beat tries again
                log.warning("could not record the job's sign of life", extra={"job_id": job_id})

    thread = threading.Thread(target=beat, name=f"alive-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)
