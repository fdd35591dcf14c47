
"""Job statistics kept in Redis (jobs DB), written by workers, exported by the API.

Why Redis and not a metrics port on each worker: a prefork worker's numbers
live in short-lived pool children, a deployment may run workers on hosts the
scraper cannot reach, and a restarted worker would reset its counters. Redis
already sees every transition, so one scrape of the API's /metrics covers the
whole fleet and survives worker restarts.

Keys:
    stats:jobs                      hash  finished/failed -> count
    stats:hist:{metric}:{label}     hash  bucket upper bounds, "+Inf", "sum", "count"
    stats:hists                     set   every stats:hist:* key
"""

from __future__ import annotations

import logging

from tasks.jobs.status import Status

log = logging.getLogger("tasks.jobs.metrics")

COUNTS_KEY = "stats:jobs"
HISTS_KEY = "stats:hists"
COUNTED = (Status.FINISHED, Status.FAILED)

# name -> (label name, bucket upper bounds, help)
HISTOGRAMS = {
    "music_job_run_seconds": (
        "duration",
        (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900),
        "Wall time of a finished job in the worker (engine + upload), by requested duration",
    ),
    "music_generation_seconds_per_audio_second": (
        "engine",
        (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10),
        "Engine compute time per second of generated audio",
    ),
}


def hist_key(metric: str, label: str) -> str:
    return f"stats:hist:{metric}:{label}"


def bound(value: float) -> str:
    return repr(float(value))


def observe(pipe, metric: str, label: str, value: float) -> None:
    """Queue a histogram observation on a Redis pipeline (cumulative buckets)."""
    _, buckets, _ = HISTOGRAMS[metric]
    key = hist_key(metric, label)
    for upper in buckets:
        if value <= upper:
            pipe.hincrby(key, bound(upper), 1)
    pipe.hincrby(key, "+Inf", 1)
    pipe.hincrbyfloat(key, "sum", float(value))
    pipe.hincrby(key, "count", 1)
    pipe.sadd(HISTS_KEY, key)


def record_finished(client, duration: int, wall_seconds: float, run_seconds: float,
                    engine: str | None) -> None:
    """A job finished: its run time by duration and the engine's speed. Never raises."""
    try:
        pipe = client.pipeline(transaction=False)
        observe(pipe, "music_job_run_seconds", str(duration), wall_seconds)
        if duration:
            observe(pipe, "music_generation_seconds_per_audio_second", engine or "unknown",
                    run_seconds / duration)
        pipe.execute()
    except Exception:  # metrics must never fail a job
        log.warning("could not record job metrics", exc_info=True)


def count_transition(client, status: str) -> None:
    """Count a job reaching finished/failed. Never raises."""
    if status not in COUNTED:
        return
    try:
        client.hincrby(COUNTS_KEY, status, 1)
    except Exception:
        log.warning("could not count a %s job", status, exc_info=True)


def read(client) -> tuple[dict[str, int], dict[str, dict[str, dict[str, float]]]]:
    """(counts, {metric: {label: {field: value}}}) for the exporter."""
    counts = {k.decode(): int(v) for k, v in client.hgetall(COUNTS_KEY).items()}
    keys = sorted(k.decode() for k in client.smembers(HISTS_KEY))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    hists: dict[str, dict[str, dict[str, float]]] = {}
    for key, raw in zip(keys, pipe.execute(), strict=True):
        metric, _, label = key.removeprefix("stats:hist:").rpartition(":")
        if metric in HISTOGRAMS and raw:
            hists.setdefault(metric, {})[label] = {
                k.decode(): float(v) for k, v in raw.items()
            }
    return counts, hists
