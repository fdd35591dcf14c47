"""Jobs whose run went silent are put back in the queue (tasks/jobs/stalled.py)."""

from __future__ import annotations

import os
import signal
import time

from tasks import maintenance
from tests.conftest import wait_status
from tests.support.services import wait_for


def requeue_stalled(older_than: float) -> dict:
    """beat's sweep as it runs (tasks.maintenance wires it), with a short silence."""
    return {"requeued": maintenance.requeue_stalled(older_than=older_than)["requeued"]}


def submit(client, **body):
    r = client.post("/api/generate", json={"prompt": "stall drill", "duration": 30, **body})
    assert r.status_code == 202
    return r.get_json()["job_id"]


def test_silent_started_job_goes_back_to_the_queue(client, jobs, no_worker):
    job_id = submit(client)
    assert jobs.start(job_id, 3) == ("started", 1)  # as a worker would, then silence
    assert requeue_stalled(older_than=30) == {"requeued": []}  # not silent long enough
    time.sleep(0.3)
    assert requeue_stalled(older_than=0.2) == {"requeued": [job_id]}
    record = jobs.get(job_id)
    assert record["status"] == "queued" and record["losses"] == 1
    assert client.get(f"/api/jobs/{job_id}").get_json()["queue_position"] == 1
    assert requeue_stalled(older_than=0.2) == {"requeued": []}  # once only


def test_finished_or_canceled_jobs_are_never_requeued(client, jobs, no_worker):
    done, canceled = submit(client), submit(client)
    jobs.start(done, 3)
    jobs.finish(done, audio_key=f"audio/{done}.wav")
    client.delete(f"/api/jobs/{canceled}")
    time.sleep(0.3)
    assert requeue_stalled(older_than=0.1) == {"requeued": []}
    assert jobs.get(done)["status"] == "finished"
    assert jobs.get(canceled)["status"] == "canceled"


def test_a_running_job_keeps_itself_alive(client, jobs, worker_pool):
    worker_pool.ensure(FIXED_ENGINE_MS="3000", STALL_SECONDS="3")  # touches every 0.5 s
    job_id = submit(client)
    wait_status(jobs, job_id, ("started",))
    for _ in range(4):
        time.sleep(0.5)
        assert requeue_stalled(older_than=1.5) == {"requeued": []}
    assert wait_status(client, job_id)["status"] == "finished"


def test_whole_worker_killed_mid_job_finishes_once_after_the_sweep(
    client, jobs, worker_pool, storage_root
):
    worker = worker_pool.ensure(FIXED_ENGINE_MS="4000", STALL_SECONDS="6")
    job_id = submit(client)
    wait_status(jobs, job_id, ("started",))
    # Parent and child die together: nobody can requeue the message, which
    # stays unacknowledged until the broker's visibility timeout (>= 1 h).
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait(10)
    worker_pool.stop()
    time.sleep(2.5)
    assert jobs.get(job_id)["status"] == "started"

    worker_pool.ensure(FIXED_ENGINE_MS="300")
    wait_for(
        lambda: requeue_stalled(older_than=2)["requeued"] == [job_id],
        timeout=10,
        what="the sweep to requeue the silent job",
    )
    job = wait_status(client, job_id)
    assert job["status"] == "finished"
    record = jobs.get(job_id)
    assert record["attempts"] == 2 and record["losses"] == 1
    assert sorted(p.name for p in (storage_root / "audio").glob(f"{job_id}*")) == [f"{job_id}.wav"]


def test_a_queued_job_whose_message_was_lost_is_sent_again_once(client, jobs, settings, no_worker):
    import redis

    from tasks.app import app
    from tasks.jobs.broker import message_ids

    kept, lost = submit(client), submit(client)
    assert message_ids(app, "music") >= {kept, lost}
    # A failover that lost the broker's write: the record says queued, no message.
    broker = redis.Redis.from_url(settings.redis_url_for("broker"))
    for name in broker.keys("music*"):
        for raw in broker.lrange(name, 0, -1):
            if lost.encode() in raw:
                broker.lrem(name, 1, raw)
    assert lost not in message_ids(app, "music")
    assert maintenance.requeue_stalled(older_than=30)["resent"] == []  # too recent to tell
    time.sleep(0.3)
    assert maintenance.requeue_stalled(older_than=0.2)["resent"] == [lost]
    assert message_ids(app, "music") >= {kept, lost}
    assert maintenance.requeue_stalled(older_than=0.2)["resent"] == []  # once
    assert jobs.get(lost)["status"] == "queued"


def test_resent_job_runs_once(client, jobs, settings, worker_pool, storage_root):
    # A re-send racing a message that was only late: two messages, one run.
    from tasks.jobs.params import JobParams
    from tasks.jobs.submit import enqueue

    worker_pool.stop()
    job_id = submit(client)
    enqueue(settings, job_id, JobParams.from_record(jobs.get(job_id)).as_dict(), priority=0)
    worker_pool.ensure()
    final = wait_status(jobs, job_id)
    assert final["status"] == "finished" and final["attempts"] == 1
    assert len(list((storage_root / "audio").glob(f"{job_id}.*"))) == 1
