"""Drill: the object store goes away while a job is rendering.

The worker stores to S3 on a moto server (real HTTP on loopback) that is
stopped while the engine still runs, so the upload meets a dead endpoint. The
task retries the upload in-process with backoff (STORAGE_RETRIES), then fails
the job with a clear error; nothing is served for it.
"""

from __future__ import annotations

import re

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import wait_status
from tests.support.services import free_port

CREDS = {"AWS_ACCESS_KEY_ID": "drill", "AWS_SECRET_ACCESS_KEY": "drill",
         "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture
def moto_s3(monkeypatch):
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="drill")
    state = {"server": server, "port": port, "endpoint": endpoint}
    yield state
    state["server"].stop()


def test_upload_to_dead_store_retries_then_fails(moto_s3, make_settings, worker_pool, jobs):
    storage_url = "s3://drill/outage"
    worker = worker_pool.ensure(
        FIXED_ENGINE_MS="2500", STORAGE_URL=storage_url, S3_ENDPOINT_URL=moto_s3["endpoint"],
        STORAGE_RETRIES="2", **CREDS,
    )
    from web import create_app

    app = create_app(make_settings(storage_url=storage_url,
                                   s3_endpoint_url=moto_s3["endpoint"]))
    client = app.test_client()
    r = client.post("/api/generate", json={"prompt": "drill: storage outage", "duration": 30})
    assert r.status_code == 202
    job_id = r.get_json()["job_id"]
    wait_status(jobs, job_id, statuses=("started",), timeout=30)
    moto_s3["server"].stop()  # the store dies before the render ends

    record = wait_status(jobs, job_id, timeout=90)
    assert record["status"] == "failed", record
    assert record["error"] == "could not store the audio; please try again"
    assert record["attempts"] == 1  # retried in-process, not by re-rendering

    log = worker.output()
    retries = re.findall(r"upload failed .*retrying in ([\d.]+)s", log)
    assert retries[-2:] == ["0.5", "1.0"], log[-3000:]  # backoff doubles

    view = client.get(f"/api/jobs/{job_id}").get_json()
    assert view["status"] == "failed" and "audio_url" not in view
    r = client.get(f"/api/audio/{job_id}")
    assert r.status_code == 404

    # The store comes back (moto keeps its state in this process): no object,
    # whole or partial, was left for the job.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_s3["port"], verbose=False)
    server.start()
    moto_s3["server"] = server
    listing = boto3.client("s3", endpoint_url=moto_s3["endpoint"]).list_objects_v2(
        Bucket="drill", Prefix="outage/")
    assert [o["Key"] for o in listing.get("Contents", [])] == []
    uploads = boto3.client("s3", endpoint_url=moto_s3["endpoint"]).list_multipart_uploads(
        Bucket="drill")
    assert uploads.get("Uploads", []) == []
