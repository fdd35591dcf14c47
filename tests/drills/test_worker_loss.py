"""Drill: the worker's pool child is SIGKILLed mid-job.

acks_late + reject_on_worker_lost put the message back on the queue; the job
store counts the lost run (`losses`) and gives up after MAX_WORKER_LOSSES.
"""

from __future__ import annotations

from storage import audio_key
from tests.conftest import wait_status
from tests.support.services import wait_for


def _submit(client) -> str:
    r = client.post("/api/generate", json={"prompt": "drill: worker loss", "duration": 30})
    assert r.status_code == 202, r.get_json()
    return r.get_json()["job_id"]


def _wait_attempt(jobs, job_id: str, attempt: int, timeout: float = 30.0) -> dict:
    def started():
        record = jobs.get(job_id)
        return record if record["status"] == "started" and record["attempts"] == attempt else None

    return wait_for(started, timeout=timeout, what=f"attempt {attempt} of {job_id} to start")


def _objects(storage_root) -> list[str]:
    folder = storage_root / "audio"
    return sorted(p.name for p in folder.glob("*.wav")) if folder.is_dir() else []


def test_killed_child_job_finishes_once(client, jobs, worker_pool, storage_root):
    worker = worker_pool.ensure(FIXED_ENGINE_MS="3000")
    job_id = _submit(client)
    _wait_attempt(jobs, job_id, 1)
    killed = worker.kill_child()

    record = wait_status(jobs, job_id, timeout=60)
    assert record["status"] == "finished", record
    assert record["attempts"] == 2
    assert record["losses"] == 1
    assert killed not in [p.pid for p in worker.pool_children()]
    # exactly one audio object for this job, and nothing half-written beside it
    mine = [name for name in _objects(storage_root) if name.startswith(job_id)]
    assert mine == [audio_key(job_id).split("/")[1]]
    assert not list((storage_root / "audio").glob(".upload-*"))
    r = client.get(f"/api/audio/{job_id}")
    assert r.status_code == 200 and len(r.data) == 44 + 30 * 48_000 * 4


def test_job_whose_worker_dies_three_times_fails(client, jobs, worker_pool, settings):
    worker = worker_pool.ensure(FIXED_ENGINE_MS="3000")
    job_id = _submit(client)
    for attempt in range(1, settings.max_worker_losses + 1):
        _wait_attempt(jobs, job_id, attempt)
        worker.kill_child()

    record = wait_status(jobs, job_id, timeout=60)
    assert record["status"] == "failed", record
    assert record["losses"] == settings.max_worker_losses
    assert record["attempts"] == settings.max_worker_losses
    assert "interrupted 3 times" in record["error"]
    assert "worker lost" in record["error"]
    view = client.get(f"/api/jobs/{job_id}").get_json()
    assert view["status"] == "failed" and view["error"] == record["error"]
    assert client.get(f"/api/audio/{job_id}").status_code == 404
    # the worker itself survived and takes new work
    wait_for(lambda: worker.pool_children(), timeout=20, what="a fresh pool child")
    worker_pool.ensure(FIXED_ENGINE_MS="3000")
    follow_up = _submit(client)
    assert wait_status(jobs, follow_up, timeout=60)["status"] == "finished"
