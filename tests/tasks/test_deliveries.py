"""Deliveries that must not render: duplicates, bad ids, runs past their hard limit."""

from __future__ import annotations

import os
import time

import pytest

from storage import audio_key
from tasks.jobs.store import TIME_LIMIT_ERROR
from tests.conftest import wait_status
from tests.support.services import Worker, wait_for

FIELDS = {"prompt": "delivery", "duration": 30, "seed": 3}


@pytest.fixture
def two_children(worker_pool, settings, tmp_path):
    """A worker with two pool children, so a duplicate can run beside the original."""
    worker_pool.stop()
    env = {**os.environ, "ENGINE": "fixed", "FIXED_ENGINE_MS": "3000"}
    worker = Worker(env, "dup", tmp_path / "dup.log", concurrency=2).start()
    yield worker
    worker.stop()


def test_a_duplicate_delivery_of_a_running_job_is_dropped(two_children, jobs, settings,
                                                          storage_root):
    from tasks.app import app
    from tasks.jobs.submit import enqueue

    job_id = "duplicate0001"
    jobs.create(job_id, "owner-d", dict(FIELDS))
    enqueue(settings, job_id, dict(FIELDS))
    wait_for(lambda: jobs.get(job_id)["status"] == "started", timeout=30, what="first run")
    # The same message again (as the stall sweep's requeue racing the original,
    # or a broker redelivery) while the first run is alive.
    duplicate = app.send_task("music.generate", kwargs=dict(FIELDS), task_id=job_id,
                              queue="music", priority=0)
    wait_for(lambda: "dropping a duplicate delivery" in two_children.output(), timeout=20,
             what="the duplicate to be dropped")
    assert jobs.get(job_id)["status"] == "started"  # the dropped copy changed nothing
    record = wait_status(jobs, job_id, timeout=30)
    assert (record["status"], record["attempts"], record["losses"]) == ("finished", 1, 0)
    assert (storage_root / audio_key(job_id)).is_file()
    assert duplicate.get(timeout=5)["audio_key"] == audio_key(job_id)  # the live run's result


def test_a_run_killed_at_its_hard_limit_fails_as_timed_out(worker_pool, jobs, settings):
    import signal

    from tasks.app import app

    worker = worker_pool.ensure(FIXED_ENGINE_MS="20000")
    job_id = "hardlimit001"
    jobs.create(job_id, "owner-t", dict(FIELDS))
    app.send_task("music.generate", kwargs=dict(FIELDS), task_id=job_id, queue="music",
                  soft_time_limit=1, time_limit=4)
    wait_for(lambda: jobs.get(job_id)["status"] == "started", timeout=30, what="the run")
    # A run stuck where the soft limit cannot reach it (native code): only the
    # hard limit's kill of the pool child ends it.
    os.kill(worker.pool_children()[0].pid, signal.SIGSTOP)
    record = wait_status(jobs, job_id, timeout=30)
    assert (record["status"], record.get("error")) == ("failed", TIME_LIMIT_ERROR), record
    time.sleep(3)  # no re-run may follow
    record = jobs.get(job_id)
    assert (record["status"], record["attempts"], record["losses"]) == ("failed", 1, 0)
    wait_for(lambda: worker.pool_children(), timeout=20, what="a fresh pool child")


@pytest.mark.parametrize("bad_id", ["bad id!", "short", "x" * 65, "../../etc/passwd"])
def test_a_task_id_outside_the_allowed_characters_fails_at_once(worker, jobs, bad_id):
    from tasks.app import app

    result = app.send_task("music.generate", kwargs=dict(FIELDS), task_id=bad_id,
                           queue="music")
    with pytest.raises(Exception) as info:
        result.get(timeout=20)
    assert "invalid job id" in str(info.value)
    assert not jobs.r.keys("job:*")  # no record under a bad key
    assert "refusing a job with an invalid id" in worker.output()
