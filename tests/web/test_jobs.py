"""Job status, cancel and ownership across sessions."""

from __future__ import annotations

import pytest

from tests.conftest import wait_status


def submit(client, **body):
    body = {"prompt": "Acoustic folk ballad with fingerpicked guitar", "duration": 30, **body}
    r = client.post("/api/generate", json=body)
    assert r.status_code == 202, r.get_json()
    return r.get_json()["job_id"]


@pytest.mark.parametrize("job_id", ["doesNotExist1", "x", "a" * 65, "bad$chars!!", "..%2F..%2Fx"])
def test_unknown_or_malformed_ids_are_404(client, job_id):
    for method in ("get", "delete"):
        r = getattr(client, method)(f"/api/jobs/{job_id}")
        assert r.status_code == 404
        assert r.get_json()["detail"] in ("Job not found", "Not found")
    r = client.get(f"/api/audio/{job_id}")
    assert r.status_code == 404 and "detail" in r.get_json()


def test_other_sessions_get_403_on_every_job_route(app, client, jobs, no_worker):
    job_id = submit(client)
    stranger = app.test_client()
    for method, path in (
        ("get", f"/api/jobs/{job_id}"),
        ("delete", f"/api/jobs/{job_id}"),
        ("get", f"/api/audio/{job_id}"),
    ):
        r = getattr(stranger, method)(path)
        assert r.status_code == 403, path
        assert r.get_json() == {"detail": "This job belongs to another session"}
    assert jobs.get(job_id)["status"] == "queued"  # the stranger's DELETE changed nothing
    assert stranger.get("/api/jobs").get_json()["total"] == 0


def test_cancel_a_queued_job(client, jobs, no_worker):
    job_id = submit(client)
    assert client.get(f"/api/jobs/{job_id}").get_json()["queue_position"] == 1
    r = client.delete(f"/api/jobs/{job_id}")
    assert r.status_code == 204 and r.data == b""
    job = client.get(f"/api/jobs/{job_id}").get_json()
    assert job["status"] == "canceled" and "queue_position" not in job
    assert jobs.queue_depth() == 0
    again = client.delete(f"/api/jobs/{job_id}")
    assert again.status_code == 409
    assert "canceled" in again.get_json()["detail"]


def test_canceled_job_never_runs(client, worker_pool, jobs):
    worker = worker_pool.ensure(FIXED_ENGINE_MS="1500")
    first = submit(client)  # occupies the single worker process
    wait_status(jobs, first, ("started",))
    second = submit(client)
    assert client.delete(f"/api/jobs/{second}").status_code == 204
    assert wait_status(client, first)["status"] == "finished"
    third = submit(client)  # queued behind the canceled one: proves the worker moved past it
    assert wait_status(client, third)["status"] == "finished"
    record = jobs.get(second)
    assert record["status"] == "canceled" and record["attempts"] == 0
    assert "started_at" not in record
    assert client.get(f"/api/audio/{second}").status_code == 404
    assert worker.proc.poll() is None


def test_409_when_started_finished_or_failed(client, worker_pool, jobs):
    worker_pool.ensure(FIXED_ENGINE_MS="1500")
    job_id = submit(client)
    wait_status(jobs, job_id, ("started",))
    r = client.delete(f"/api/jobs/{job_id}")
    assert r.status_code == 409 and "started" in r.get_json()["detail"]
    job = client.get(f"/api/jobs/{job_id}").get_json()
    assert job["status"] == "started" and 0 <= job["progress"] <= 100
    wait_status(jobs, job_id)
    r = client.delete(f"/api/jobs/{job_id}")
    assert r.status_code == 409 and "finished" in r.get_json()["detail"]
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "finished"

    failed = submit(client)
    jobs.fail(failed, "out of GPU memory")
    assert client.delete(f"/api/jobs/{failed}").status_code == 409
    view = client.get(f"/api/jobs/{failed}").get_json()
    assert view["status"] == "failed" and view["error"] == "out of GPU memory"
    assert "audio_url" not in view


def test_list_is_newest_first_and_paginated(client, app):
    ids = [submit(client, prompt=f"piece {n}") for n in range(5)]
    page = client.get("/api/jobs?limit=2").get_json()
    assert [j["job_id"] for j in page["jobs"]] == ids[::-1][:2]
    assert page["total"] == 5
    rest = client.get("/api/jobs?limit=10&offset=2").get_json()
    assert [j["job_id"] for j in rest["jobs"]] == ids[::-1][2:]
    assert client.get("/api/jobs?limit=0").status_code == 400
    assert client.get("/api/jobs?limit=x").status_code == 400
