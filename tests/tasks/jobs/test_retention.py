"""Retention: old audio is deleted (file and S3 storage) and the API then says "expired"."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from storage import audio_key
from tasks.config.services import audio_storage, job_store
from tasks.jobs.retention import purge
from tests.conftest import wait_status

OLD = 200 * 3600  # seconds: older than the default 168 h retention


@pytest.fixture
def aws_env(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def finish_by_hand(client, jobs, storage, tmp_path, prompt="old tune") -> str:
    """Submit through the API (no worker), then play the worker's part."""
    r = client.post("/api/generate", json={"prompt": prompt, "duration": 30})
    assert r.status_code == 202
    job_id = r.get_json()["job_id"]
    wav = tmp_path / f"{job_id}.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 100)
    assert jobs.start(job_id, 3)[0] == "started"
    storage.put_file(audio_key(job_id), wav)
    assert jobs.finish(job_id, audio_key=audio_key(job_id), run_seconds=0.1) == "ok"
    assert client.get(f"/api/audio/{job_id}").status_code == 200
    return job_id


def assert_expired(client, job_id):
    r = client.get(f"/api/audio/{job_id}")
    assert r.status_code == 404
    assert "expired" in r.get_json()["detail"]
    job = client.get(f"/api/jobs/{job_id}").get_json()
    assert job["status"] == "finished" and job.get("expired") is True
    assert "audio_url" not in job


def test_file_storage_purge_through_the_beat_task(client, worker, jobs, storage_root):
    """The real worker makes the audio; the real `music.purge_expired` task deletes it."""
    from tasks.app import app as celery_app

    old = client.post("/api/generate", json={"prompt": "old", "duration": 30}).get_json()
    new = client.post("/api/generate", json={"prompt": "new", "duration": 30}).get_json()
    for job in (old, new):
        assert wait_status(client, job["job_id"])["status"] == "finished"
    old_path = storage_root / "audio" / f"{old['job_id']}.wav"
    then = time.time() - OLD
    os.utime(old_path, (then, then))

    result = celery_app.send_task("music.purge_expired").get(timeout=30)
    assert result["deleted"] >= 1 and result["errors"] == 0

    assert not old_path.exists()
    assert_expired(client, old["job_id"])
    assert client.get(f"/api/audio/{new['job_id']}").status_code == 200
    assert (storage_root / "audio" / f"{new['job_id']}.wav").exists()


def test_file_storage_skips_foreign_files(make_settings, no_worker, tmp_path):
    from web import create_app

    settings = make_settings(storage_url=(tmp_path / "store").as_uri())
    client = create_app(settings).test_client()
    storage, jobs = audio_storage(settings), job_store(settings)
    job_id = finish_by_hand(client, jobs, storage, tmp_path)
    folder = tmp_path / "store" / "audio"
    stray = folder / "not ours.wav"  # a name outside the key scheme
    stray.write_bytes(b"x")
    then = time.time() - OLD
    for path in (stray, folder / f"{job_id}.wav"):
        os.utime(path, (then, then))

    result = purge(job_store(settings), audio_storage(settings), settings)
    assert result["deleted"] == 1 and result["skipped"] == 1
    assert stray.exists()
    assert_expired(client, job_id)


def test_s3_storage_purge(make_settings, no_worker, tmp_path, aws_env):
    from web import create_app

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="music-test")
        settings = make_settings(storage_url="s3://music-test/prod", s3_endpoint_url="")
        client = create_app(settings).test_client()
        storage, jobs = audio_storage(settings), job_store(settings)
        old_id = finish_by_hand(client, jobs, storage, tmp_path, "old")
        boto3.client("s3", region_name="us-east-1").put_object(
            Bucket="music-test", Key="prod/audio/notes.txt", Body=b"not audio")

        # Nothing is old yet.
        assert purge(job_store(settings), audio_storage(settings), settings)["deleted"] == 0
        assert client.get(f"/api/audio/{old_id}").status_code == 200

        later = datetime.now(UTC) + timedelta(hours=settings.retention_hours + 1)
        result = purge(job_store(settings), audio_storage(settings), settings, now=later)
        assert result["deleted"] == 1 and result["skipped"] == 1 and result["errors"] == 0
        keys = [o["Key"] for o in boto3.client("s3", region_name="us-east-1")
                .list_objects_v2(Bucket="music-test").get("Contents", [])]
        assert keys == ["prod/audio/notes.txt"]
        assert_expired(client, old_id)


def test_record_sweep(make_settings, no_worker, tmp_path):
    from tasks.config.services import record_ttl_seconds
    from web import create_app

    settings = make_settings(storage_url=(tmp_path / "store").as_uri())
    client = create_app(settings).test_client()
    storage, jobs = audio_storage(settings), job_store(settings)
    assert record_ttl_seconds(settings) == 2 * settings.retention_hours * 3600

    # Audio gone some other way: the finished job past the cutoff is still marked expired.
    gone = finish_by_hand(client, jobs, storage, tmp_path, "gone")
    storage.delete(audio_key(gone))
    # A record that lost its TTL gets one back; a stray hash (no creation time) goes.
    kept = finish_by_hand(client, jobs, storage, tmp_path, "kept")
    jobs.r.persist(f"job:{kept}")
    jobs.r.hset("job:strayjob01", "progress", 40)
    assert 0 < jobs.r.ttl(f"job:{gone}") <= record_ttl_seconds(settings)

    later = datetime.now(UTC) + timedelta(hours=settings.retention_hours + 1)
    result = purge(job_store(settings), audio_storage(settings), settings, now=later)
    assert result["records_deleted"] == 1 and not jobs.r.exists("job:strayjob01")
    assert result["records_ttl_restored"] == 1 and jobs.r.ttl(f"job:{kept}") > 0
    assert result["records_marked_expired"] >= 1
    assert_expired(client, gone)

    # Past the record lifetime the records themselves are deleted.
    much_later = datetime.now(UTC) + timedelta(seconds=record_ttl_seconds(settings) + 60)
    result = purge(job_store(settings), audio_storage(settings), settings, now=much_later)
    assert result["records_deleted"] == 2
    assert client.get(f"/api/jobs/{gone}").status_code == 404
