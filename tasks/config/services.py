"""Per-process handles on the job store and audio storage."""

from __future__ import annotations

from functools import lru_cache

from storage import Storage, open_storage
from tasks.config.redis_clients import probe_redis_for, redis_for
from tasks.config.settings import Settings, get_settings
from tasks.jobs.store import JobStore


@lru_cache(maxsize=4)
def job_store(settings: Settings | None = None) -> JobStore:
    settings = settings or get_settings()
    # Records outlive their audio (2x RETENTION_HOURS) so that, after the purge
    # deletes a job's audio, the API can still answer "expired" rather than "not found".
    store = JobStore(redis_for(settings, "jobs"), record_ttl_seconds(settings))
    from tasks.webhooks.outbox import dispatch

    store.on_webhook = dispatch  # a transition a webhook wants is sent at once
    return store


@lru_cache(maxsize=4)
def probe_job_store(settings: Settings) -> JobStore:
    """The job store over a fail-fast client: readiness checks and metric scrapes."""
    return JobStore(probe_redis_for(settings, "jobs"), record_ttl_seconds(settings))


def record_ttl_seconds(settings: Settings) -> int:
    return 2 * settings.retention_hours * 3600


@lru_cache(maxsize=4)
def audio_storage(settings: Settings | None = None, interactive: bool = False) -> Storage:
    """`interactive`: the API's client, which gives up within seconds (503) so a
    download never hangs on a dead store; workers keep the patient one."""
    settings = settings or get_settings()
    return open_storage(
        settings.storage_url, endpoint_url=settings.s3_endpoint_url or None,
        fail_fast=interactive,
    )


@lru_cache(maxsize=4)
def client_store(settings: Settings | None = None):
    """API clients and keys: in the jobs DB, next to the jobs they own."""
    from tasks.clients.store import ClientStore

    return ClientStore(redis_for(settings or get_settings(), "jobs"))
