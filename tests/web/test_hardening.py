"""Start-up checks and hostile inputs that must answer a clear 4xx/5xx, never a crash or hang."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import redis

from tasks.config.settings import Settings, SettingsError
from tests.support.services import free_port, wait_for


@pytest.mark.parametrize("raw", ["-1", "6", "1.5", "two", ""])
def test_nonsense_trusted_proxy_count_is_refused(raw):
    with pytest.raises(SettingsError, match="TRUSTED_PROXY_COUNT"):
        Settings.from_env({"TRUSTED_PROXY_COUNT": raw})


@pytest.mark.parametrize("raw", ["*", "https://app.example/", "https://*.example", "app.example",
                                 "https://app.example,null", "ftp://app.example"])
def test_cors_origins_must_be_exact(raw):
    with pytest.raises(SettingsError, match="CORS_ORIGINS"):
        Settings.from_env({"CORS_ORIGINS": raw})


def test_exact_origins_are_accepted():
    settings = Settings.from_env(
        {"CORS_ORIGINS": "https://app.example, http://127.0.0.1:8080,https://[::1]:3000",
         "TRUSTED_PROXY_COUNT": "1"}
    )
    assert len(settings.cors_origins) == 3 and settings.trusted_proxy_count == 1


@pytest.mark.parametrize("name", ["MAX_STREAMS_PER_SESSION", "MAX_STREAMS_PER_IP"])
def test_stream_caps_must_be_positive(name):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: "0"})


def test_read_limit_must_look_like_a_limit():
    with pytest.raises(SettingsError, match="RATE_LIMIT_READ_IP"):
        Settings.from_env({"RATE_LIMIT_READ_IP": "lots"})


def test_deeply_nested_json_is_400(client, no_worker):
    body = b"[" * 8000 + b"]" * 8000
    assert len(body) < 16 * 1024
    r = client.post("/api/generate", data=body, content_type="application/json")
    assert r.status_code == 400 and "Malformed JSON" in r.get_json()["detail"]


@pytest.mark.parametrize("field", ["prompt", "genre"])
def test_lone_surrogates_are_422(client, no_worker, field):
    body = {"prompt": "calm piano", field: "calm \ud800 piano"}
    r = client.post("/api/generate", json=body)
    assert r.status_code == 422, r.data
    assert isinstance(r.get_json()["detail"], str)
    assert client.get("/api/jobs").get_json()["total"] == 0


# --- Redis at maxmemory (noeviction) -----------------------------------------------------
@pytest.fixture
def full_redis(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--maxmemory", "3mb", "--maxmemory-policy", "noeviction",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, db=4)
    wait_for(lambda: _pings(client), timeout=10, what="private redis")
    yield port, client
    proc.terminate()
    proc.wait(10)


def fill(client) -> None:
    """Write ever smaller values until even a tiny write is refused, then pull the ceiling
    below what is held: Redis frees idle clients' buffers on its own timer, and the few KB
    that gives back would otherwise let the next write through now and then."""
    n = 0
    for size in (100_000, 1_000, 10):
        try:
            while True:
                n += 1
                client.set(f"filler:{n}", b"x" * size)
        except redis.exceptions.OutOfMemoryError:
            pass
    used = client.info("memory")["used_memory"]
    client.config_set("maxmemory", used - 512 * 1024)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.RedisError:
        return False


def test_full_redis_answers_503_not_500(full_redis, make_settings, no_worker):
    from web import create_app

    port, filler = full_redis
    app = create_app(make_settings(redis_url=f"redis://127.0.0.1:{port}/0"))
    client = app.test_client()
    assert client.post("/api/generate", json={"prompt": "before"}).status_code == 202
    fill(filler)
    for call in (
        lambda: app.test_client().post("/api/generate", json={"prompt": "after"}),
        lambda: client.post("/api/generate", json={"prompt": "after"}),
        lambda: app.test_client().get("/"),
    ):
        r = call()
        assert r.status_code == 503, r.data
        assert r.is_json and "unavailable" in r.get_json()["detail"]
        assert r.headers["Retry-After"] == "5"


# --- storage outage during a download ----------------------------------------------------
@pytest.fixture
def silent_s3():
    """An "S3 endpoint" that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_storage_outage_during_download_is_a_fast_503(silent_s3, make_settings, no_worker,
                                                      monkeypatch):
    from tasks.config.services import job_store
    from web import create_app

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    settings = make_settings(storage_url="s3://audio-bucket", s3_endpoint_url=silent_s3)
    client = create_app(settings).test_client()
    job_id = client.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    job_store(settings).update(job_id, status="finished")
    began = time.monotonic()
    r = client.get(f"/api/audio/{job_id}")
    elapsed = time.monotonic() - began
    assert r.status_code == 503, r.data
    assert set(r.get_json()) == {"detail"} and "storage" in r.get_json()["detail"]
    assert r.headers["Retry-After"]
    assert elapsed < 5.0, f"took {elapsed:.1f}s"


def test_workers_keep_a_patient_storage_client(make_settings):
    from tasks.config.services import audio_storage

    settings = make_settings(storage_url="s3://audio-bucket", s3_endpoint_url="http://x:9000")
    worker, api = audio_storage(settings), audio_storage(settings, interactive=True)
    assert worker.client.meta.config.read_timeout == 30
    assert api.client.meta.config.read_timeout <= 2
    assert api.client.meta.config.connect_timeout <= 1
