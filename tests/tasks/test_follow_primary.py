"""A worker leaves a primary that hangs (SIGSTOP) once the sentinels name another,
and runs jobs there while the old one is still stopped (tasks/follow_primary.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.support.services import Worker, wait_for

pytestmark = pytest.mark.slow


def test_worker_follows_a_new_primary_while_the_old_one_hangs(
    sentinel_set, make_settings, no_worker, tmp_path
):
    from tasks.config.services import job_store
    from web import create_app

    settings = make_settings(**sentinel_set.settings_fields(base_db=0))
    env = {**os.environ, **sentinel_set.env(base_db=0), "ENGINE": "fixed",
           "FIXED_ENGINE_MS": "200"}
    worker = Worker(env, "follower", tmp_path / "worker.log").start()
    client = create_app(settings).test_client()
    jobs = job_store(settings)
    old = sentinel_set.primary()
    try:
        r = client.post("/api/generate", json={"prompt": "before", "duration": 30})
        first = r.get_json()["job_id"]
        wait_for(lambda: jobs.get(first)["status"] == "finished", timeout=30, what="a first job")
        old.signal(signal.SIGSTOP)
        sentinel_set.wait_promoted(old.port, timeout=30)

        def submitted():
            r = client.post("/api/generate", json={"prompt": "during", "duration": 30})
            return r.status_code == 202 and r.get_json()["job_id"]

        during = wait_for(submitted, timeout=20, interval=0.5, what="a submit to the new primary")
        # Still stopped: the job can only finish if the worker moved to the new primary.
        wait_for(lambda: jobs.get(during)["status"] == "finished", timeout=30,
                 what="a job run while the old primary hangs")
        assert old.proc.poll() is None and "reconnecting" in worker.output()
    finally:
        old.signal(signal.SIGCONT)
        time.sleep(0.2)
        worker.stop()
