"""`python -m bench [--quick] [--only NAME ...]`: every benchmark, one table.

Each figure is a ratio against a baseline measured in the same run, on
loopback, with real processes (tests/support/services.py). Set
BENCH_REDIS_URL (default redis://127.0.0.1:6379/10) to a Redis base DB the
benchmark may flush, with the four DBs after it (see bench/common.py).

Benchmarks (module: run(quick) -> rows):
  queue     bench_queue     submit->started/finished vs a bare Celery round trip
  job       bench_job       the service's own work per job, stage by stage
  api       bench_api       GET /api/jobs/{id} req/s vs GET /health
  events    bench_events    1,000 SSE streams on one process: RSS, fan-out latency
  audio     bench_audio     /api/audio MB/s vs direct storage reads, RSS growth
  scale     bench_scale     jobs/min at 1, 2, 4 worker processes
  composer  bench_composer  the composer engine (a colleague's; "missing" if absent)
  sound     bench_sound     the composer's loudness/true peak/clipping, 10 genres x 3 durations
  exports   bench_exports   MIDI + stems export cost (s per audio s) and sizes
  acestep   bench_acestep   the ACE-Step engine on the tiny CPU pipeline
  acestep_api bench_acestep_api  job overhead and 20-at-once vs ACE-Step's acestep-api (same
            tiny model; skipped unless `make acestep-api` installed it)
  formats   bench_formats   FLAC/MP3/Opus encode speed and size; GPU worker time mp3 vs wav
  edits     bench_edits     extend/repaint/cover CPU s per audio s vs a plain render; 240 s RSS
  clients   bench_clients   bearer vs cookie status poll; webhook latency after a job finishes
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback

from bench import common, table

BENCHES = {
    "queue": "bench.bench_queue",
    "job": "bench.bench_job",
    "api": "bench.bench_api",
    "events": "bench.bench_events",
    "audio": "bench.bench_audio",
    "scale": "bench.bench_scale",
    "composer": "bench.bench_composer",
    "sound": "bench.bench_sound",
    "exports": "bench.bench_exports",
    "acestep": "bench.bench_acestep",
    "acestep_api": "bench.bench_acestep_api",
    "formats": "bench.bench_formats",
    "edits": "bench.bench_edits",
    "clients": "bench.bench_clients",
}


def _rows(name: str, module: str, quick: bool) -> list[dict]:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return [{"name": f"{name}: missing ({module} not written yet)", "ok": None}]
        raise
    return mod.run(quick=quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (< 2 minutes)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHES), help="run only these")
    args = parser.parse_args(argv)

    rows: list[dict] = []
    began = time.monotonic()
    for name, module in BENCHES.items():
        if args.only and name not in args.only:
            continue
        started = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            rows += _rows(name, module, args.quick)
        except Exception as exc:
            traceback.print_exc()
            rows.append({"name": f"{name}: ERROR {type(exc).__name__}: {exc}"[:100],
                         "ok": False})
        print(f"[bench] {name} took {time.monotonic() - started:.1f}s", file=sys.stderr,
              flush=True)

    print(f"# nproc={os.cpu_count()} quick={args.quick} redis={common.REDIS_URL} "
          f"total={time.monotonic() - began:.0f}s")
    print(table.render(rows))
    return 1 if any(row.get("ok") is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
