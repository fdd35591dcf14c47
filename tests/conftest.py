"""Shared fixtures: real Redis (dedicated DBs), real Celery workers, moto S3.

The test Redis base DB is 10 (so DBs 10-14). Before any project import, the
environment is pointed there, because settings are read once per process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10")
os.environ.update(
    REDIS_URL=TEST_REDIS_URL,
    LOCAL_MODE="1",
    LOG_JSON="0",
    RATE_LIMIT_SESSION="1000/minute",
    RATE_LIMIT_IP="1000/minute",
    RATE_LIMIT_READ_IP="100000/minute",
    # Suite tests open dozens of streams from one session; the caps have their own tests.
    MAX_STREAMS_PER_SESSION="200",
    MAX_STREAMS_PER_IP="400",
    # Like the rate limits: generous for tests that queue many jobs; the caps'
    # own tests set the defaults (tests/web/test_active_caps.py).
    MAX_ACTIVE_JOBS_PER_SESSION="1000",
    MAX_ACTIVE_JOBS_PER_IP="1000",
    RATE_LIMIT_CLIENT="1000/minute",
    MAX_ACTIVE_JOBS_PER_CLIENT="1000",
)
os.environ.pop("ACESTEP_MODEL_DIR", None)
os.environ.pop("ENGINE", None)

import redis  # noqa: E402

from tasks.config.settings import REDIS_DB_OFFSETS, Settings  # noqa: E402
from tasks.jobs.status import TERMINAL  # noqa: E402
from tests.support.images import image_env  # noqa: E402
from tests.support.services import ApiServer, Worker, wait_for  # noqa: E402

_SESSION_STORAGE = None


@pytest.fixture(scope="session")
def storage_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session", autouse=True)
def _session_env(storage_root):
    os.environ["STORAGE_URL"] = storage_root.as_uri()
    from tasks.config.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    for concern in REDIS_DB_OFFSETS:
        redis.Redis.from_url(settings.redis_url_for(concern)).flushdb()
    yield settings


def _flush_state(settings: Settings) -> None:
    # The broker DB keeps its queue bindings (a running worker relies on
    # them); everything else starts empty for each test.
    for concern in ("jobs", "sessions", "limits", "results"):
        redis.Redis.from_url(settings.redis_url_for(concern)).flushdb()
    from tasks.app import init_celery

    # A test may have pointed the Celery app at another Redis (create_app with
    # other settings): every test starts on the suite's own.
    with init_celery(settings).connection_for_write() as conn:
        for queue in ("music", "maintenance", "encode", "webhooks"):
            conn.default_channel.queue_purge(queue)


@pytest.fixture
def settings(_session_env) -> Settings:
    _flush_state(_session_env)
    return _session_env


@pytest.fixture
def make_settings(settings):
    """Settings like the test defaults, with some fields replaced."""

    def make(**overrides) -> Settings:
        import dataclasses

        return dataclasses.replace(settings, **overrides)

    return make


@pytest.fixture
def app(settings):
    from web import create_app

    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def jobs(settings):
    from tasks.config.services import job_store

    return job_store(settings)


class WorkerPool:
    """At most one worker runs at a time, so tests know who takes their jobs."""

    def __init__(self, tmp: Path, queues: str = "music,maintenance", prefix: str = "test",
                 image: str = "worker"):
        self.tmp = tmp
        self.queues = queues
        self.prefix = prefix
        self.image = image  # the Dockerfile target whose packages its workers get
        self.current: Worker | None = None
        self.current_env: dict | None = None
        self.count = 0

    def ensure(self, **env_overrides) -> Worker:
        wanted = {"ENGINE": "fixed", "FIXED_ENGINE_MS": "200", **env_overrides}
        if self.current and self.current_env == wanted and self.current.proc.poll() is None:
            return self.current
        self.stop()
        self.count += 1
        name = f"{self.prefix}{self.count}"
        env = image_env(self.image, self.tmp / "image-packages", {**os.environ, **wanted})
        self.current = Worker(env, name, self.tmp / f"{name}.log", queues=self.queues).start()
        self.current_env = wanted
        return self.current

    def stop(self) -> None:
        if self.current:
            self.current.stop()
        self.current = None
        self.current_env = None


@pytest.fixture(scope="session")
def worker_pool(tmp_path_factory):
    pool = WorkerPool(tmp_path_factory.mktemp("workers"))
    yield pool
    pool.stop()


@pytest.fixture
def no_worker(worker_pool, settings):
    """No worker consumes the queue: submitted jobs stay queued."""
    worker_pool.stop()


@pytest.fixture
def worker(worker_pool, settings):
    """The default worker: fixed-latency engine (200 ms a job)."""
    return worker_pool.ensure()


@pytest.fixture(scope="session")
def _encoder(tmp_path_factory):
    # The `encode` queue's CPU worker, as deployed: the encoder image's packages
    # (no torch, no scipy) and no engine.
    pool = WorkerPool(tmp_path_factory.mktemp("encode"), queues="encode", prefix="encode",
                      image="encoder")
    yield pool
    pool.stop()


@pytest.fixture
def encode_worker(_encoder, settings):
    """A worker compresses WAVs to FLAC/MP3/Opus (the `encode` queue)."""
    return _encoder.ensure()


@pytest.fixture
def no_encoder(_encoder, settings):
    """Nobody consumes the `encode` queue: compressed-format jobs wait there."""
    _encoder.stop()


@pytest.fixture(scope="session")
def live_api(tmp_path_factory, _session_env):
    server = ApiServer(dict(os.environ), tmp_path_factory.mktemp("api") / "gunicorn.log").start()
    yield server
    server.stop()


def wait_stage(client, job_id: str, stage: str, timeout: float = 60.0) -> dict:
    """Poll a job's public view until its `stage` is `stage` (the last view seen on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        view = client.get(f"/api/jobs/{job_id}").get_json()
        if view.get("stage") == stage or time.monotonic() > deadline:
            return view
        time.sleep(0.05)


def wait_status(jobs_or_client, job_id: str, statuses=TERMINAL, timeout: float = 60.0) -> dict:
    """Poll a JobStore (or a Flask test client) until the job reaches a status."""
    if hasattr(jobs_or_client, "open"):  # a test client: read the public view

        def read():
            return jobs_or_client.get(f"/api/jobs/{job_id}").get_json()
    else:

        def read():
            return jobs_or_client.get(job_id)

    seen = {}

    def reached() -> bool:
        seen["record"] = read()
        return bool(seen["record"]) and seen["record"].get("status") in statuses

    try:
        wait_for(reached, timeout=timeout, what=f"job {job_id}")
    except TimeoutError:
        raise AssertionError(
            f"job {job_id} never reached {statuses}; last seen {seen.get('record')}"
        ) from None
    return seen["record"]


@pytest.fixture
def sentinel_set(tmp_path):
    """A primary, one replica and one sentinel (quorum 1) of the test's own, on loopback."""
    from tests.support.sentinel import SentinelSet, binaries

    if binaries() is None:
        pytest.skip("redis-server / redis-sentinel not installed (make test installs them)")
    cluster = SentinelSet(tmp_path / "sentinel", replicas=1, sentinels=1, quorum=1,
                          down_after_ms=1000, failover_timeout_ms=4000).start()
    yield cluster
    cluster.stop()
