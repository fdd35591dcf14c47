"""Operator endpoints: readiness (/health/ready) and Prometheus metrics (/metrics).

/health stays the guide's liveness answer; /health/ready says whether this
instance can do useful work right now: Redis answers, the audio store answers,
and at least one worker sent a heartbeat recently. Each check has its own
short deadline, so a dead dependency costs about a second, never a hang.

Metrics: counters of submitted/canceled jobs are counted here in the API
(prometheus_client, multiprocess mode under gunicorn: see gunicorn.conf.py);
finished/failed counts and run-time histograms are kept in Redis by the
workers (tasks/jobs/metrics.py) and read at scrape time together with the queue
depth and the number of live workers.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from tasks.config.services import probe_job_store
from tasks.jobs import metrics as job_metrics
from tasks.jobs.store import HEARTBEAT_WINDOW, JobStore

bp = Blueprint("ops", __name__)

CHECK_TIMEOUT = 1.5  # seconds per dependency

SUBMITTED = Counter("music_jobs_submitted_total", "Jobs accepted by POST /api/generate")
CANCELED = Counter("music_jobs_canceled_total", "Jobs canceled through DELETE /api/jobs/{id}")

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ready-check")


def probe_store() -> JobStore:
    return probe_job_store(current_app.config["SETTINGS"])


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# --- readiness ---------------------------------------------------------------
@bp.get("/health/ready")
def ready():
    store = probe_store()
    storage = current_app.extensions["audio_storage"]

    def check_redis():
        store.r.ping()

    def check_storage():
        storage.ping()

    def check_workers():
        live = store.live_workers()
        if not live:
            raise RuntimeError(f"no worker sent a heartbeat in the last {HEARTBEAT_WINDOW:g}s")
        return live

    futures = {
        name: _pool.submit(fn)
        for name, fn in (("redis", check_redis), ("storage", check_storage),
                         ("workers", check_workers))
    }
    deadline = time.monotonic() + CHECK_TIMEOUT
    checks, failed, live = {}, [], 0
    for name, future in futures.items():
        try:
            result = future.result(timeout=max(0.0, deadline - time.monotonic()))
            checks[name] = "ok"
            if name == "workers":
                live = int(result)
        except FutureTimeout:
            checks[name] = f"timed out after {CHECK_TIMEOUT:g}s"
            failed.append(name)
        except Exception as exc:
            checks[name] = f"failed: {_describe(exc)}"
            failed.append(name)
    if "redis" in failed and "workers" in failed:
        checks["workers"] = "unknown: redis is unreachable"
    if failed:
        detail = "Not ready: " + "; ".join(f"{name} {checks[name]}" for name in failed)
        response = jsonify(detail=detail, checks=checks)
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify(status="ready", checks=checks, live_workers=live)


# --- metrics -------------------------------------------------------------------
@bp.after_app_request
def count_jobs(response):
    endpoint = request.endpoint
    if endpoint == "generate.create" and response.status_code == 202:
        SUBMITTED.inc()
    elif endpoint == "jobs.cancel_job" and response.status_code == 204:
        CANCELED.inc()
    return response


class RedisJobCollector:
    """Fleet-wide numbers read from Redis at scrape time."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def collect(self):
        up = GaugeMetricFamily("music_redis_up", "1 if the jobs Redis answered this scrape")
        try:
            depth, live = self.store.fleet()
            counts, hists = job_metrics.read(self.store.r)
        except (redis.ConnectionError, redis.TimeoutError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("music_queue_depth", "Jobs waiting in the queue", value=depth)
        yield GaugeMetricFamily(
            "music_live_workers",
            f"Workers with a heartbeat in the last {HEARTBEAT_WINDOW:g} s",
            value=live,
        )
        for status in job_metrics.COUNTED:
            yield CounterMetricFamily(
                f"music_jobs_{status}", f"Jobs that ended {status} (all workers)",
                value=counts.get(status, 0),
            )
        for metric, (label, buckets, help_text) in job_metrics.HISTOGRAMS.items():
            family = HistogramMetricFamily(metric, help_text, labels=[label])
            for value, fields in sorted(hists.get(metric, {}).items()):
                cumulative = [(f"{b:g}", fields.get(job_metrics.bound(b), 0.0)) for b in buckets]
                cumulative.append(("+Inf", fields.get("+Inf", 0.0)))
                family.add_metric([value], cumulative, sum_value=fields.get("sum", 0.0))
            yield family


@bp.get("/metrics")
def metrics():
    if current_app.config["SETTINGS"].prometheus_multiproc_dir:
        from prometheus_client import multiprocess

        local = CollectorRegistry()
        multiprocess.MultiProcessCollector(local)
    else:
        local = REGISTRY
    fleet = CollectorRegistry(auto_describe=False)
    fleet.register(RedisJobCollector(probe_store()))
    body = generate_latest(local) + generate_latest(fleet)
    return Response(body, content_type=CONTENT_TYPE_LATEST)
