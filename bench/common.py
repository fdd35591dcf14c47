"""What every benchmark shares: a private Redis, a scratch dir, real processes.

Importing this module points the process at the benchmark's own Redis
*before* any project module reads its settings:

    BENCH_REDIS_URL   base DB of the benchmark (default redis://127.0.0.1:6379/10;
                      it uses DBs N..N+4 and FLUSHES them, so give it DBs nobody
                      else needs while it runs - the default overlaps the test
                      suite's DBs, so do not run `make bench` and `make test` at
                      the same time on one Redis)

Processes come from tests/support/services.py (Worker, ApiServer), the same
ones the tests use.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
SCRATCH = Path(tempfile.mkdtemp(prefix="music-bench-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)

# Every process of the benchmark (this one included) sees the same settings.
BASE_ENV = {
    "REDIS_URL": REDIS_URL,
    "STORAGE_URL": (SCRATCH / "audio").as_uri(),
    "LOCAL_MODE": "1",
    "LOG_JSON": "0",
    "RATE_LIMIT_SESSION": "100000/minute",
    "RATE_LIMIT_IP": "100000/minute",
    "RATE_LIMIT_READ_IP": "1000000/minute",
    "MAX_STREAMS_PER_SESSION": "10000",
    "MAX_STREAMS_PER_IP": "10000",
    "MAX_ACTIVE_JOBS_PER_SESSION": "100000",
    "MAX_ACTIVE_JOBS_PER_IP": "100000",
    "ENGINE": "fixed",
    "FIXED_ENGINE_MS": "0",
    "FIXED_ENGINE_STEPS": "1",
}
os.environ.update(BASE_ENV)
os.environ.pop("ACESTEP_MODEL_DIR", None)

from tests.support.services import ApiServer, Worker, free_port  # noqa: E402

__all__ = ["ApiServer", "Worker", "free_port", "env", "flush", "worker", "api", "row", "pct"]


def env(**overrides: str) -> dict:
    return {**os.environ, **BASE_ENV, **{k: str(v) for k, v in overrides.items()}}


def flush() -> None:
    """Empty the benchmark's own five DBs (and nothing else)."""
    import redis

    from tasks.config.settings import REDIS_DB_OFFSETS, get_settings

    settings = get_settings()
    for concern in REDIS_DB_OFFSETS:
        redis.Redis.from_url(settings.redis_url_for(concern)).flushdb()


_count = 0


def _name(kind: str) -> str:
    global _count
    _count += 1
    return f"bench{kind}{_count}-{os.getpid()}"


@contextlib.contextmanager
def worker(concurrency: int = 1, extra_args: tuple[str, ...] = (), **overrides: str):
    name = _name("w")
    w = Worker(env(**overrides), name, SCRATCH / f"{name}.log", queues="music",
               concurrency=concurrency, extra_args=extra_args)
    w.start()
    try:
        yield w
    finally:
        w.stop()


@contextlib.contextmanager
def api(workers: int = 2, app: str = "web:create_app()", **overrides: str):
    name = _name("api")
    server = ApiServer(env(**overrides), SCRATCH / f"{name}.log", workers=workers,
                       app=app).start()
    try:
        yield server
    finally:
        server.stop()


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def row(name: str, figure: float, unit: str, baseline: float | None, goal: str,
        ok: bool | None, ratio: float | None = None) -> dict:
    if ratio is None and baseline:
        ratio = figure / baseline
    return {"name": name, "figure": figure, "unit": unit, "baseline": baseline,
            "ratio": ratio, "goal": goal, "ok": ok}
