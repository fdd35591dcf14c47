"""CPU bench of the embedded composer engine, one core per measurement.

    python bench/bench_composer.py [--quick]

Every measurement runs in a fresh subprocess pinned to one CPU with
OMP_NUM_THREADS/OPENBLAS_NUM_THREADS/MKL_NUM_THREADS=1 set before numpy is
imported, so the figures are single-core and the peak RSS is that one render's.

Rows (``run()`` returns them as dicts: name, figure, unit, baseline, ratio, goal, ok):
* ``composer_x_realtime_<N>s`` - seconds of audio per compute second (CPU time
  of the process, so a busy machine does not skew it; the wall-clock figure is
  shown alongside) of ``generate()`` for the slowest genre at N seconds (named
  in the goal column). Baseline: real time (1.0). Goal: >= 40x, 120 s in 3 s.
* ``composer_x_realtime_<N>s_median`` - the same, median over genres (info).
* ``composer_peak_rss_mb`` - the largest peak RSS of any render. Baseline: the
  RSS of a process that only imported the engine (numpy + scipy.signal alone
  are ~100 MB). Goal: <= 250 MB.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench import table

ROOT = Path(__file__).resolve().parents[1]
GOAL_X = 40.0
GOAL_MB = 250.0
GENRES = ("rock", "ambient", "electronic", "cinematic", "jazz", "lofi", "classical", "folk",
          "pop", "blues")  # all ten
QUICK_GENRES = ("rock", "cinematic")
DURATIONS = (30, 60, 120)

# The start of every pinned child (bench_edits too): one CPU, its own peak RSS.
PINNED_PROLOGUE = r"""
import json, os, sys, time
# VmHWM is this process's own peak: ru_maxrss survives exec on Linux and would
# report the (larger) benchmark runner that spawned us.
def peak_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
cpus = sorted(os.sched_getaffinity(0))
os.sched_setaffinity(0, {cpus[-1]})
"""
_CHILD = PINNED_PROLOGUE + r"""
from inference.composer import ComposerEngine
genre, duration = sys.argv[1], int(sys.argv[2])
engine = ComposerEngine()
engine.setup()
rss0 = peak_mb()
t0, c0 = time.perf_counter(), time.process_time()
if duration:
    engine.generate(prompt="a piece of music", genre=genre, duration=duration, seed=1)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = peak_mb()
print(json.dumps({"cpu": cpu, "wall": wall, "rss_mb": rss, "import_rss_mb": rss0}))
"""


def _measure(genre: str, duration: int) -> dict:
    return single_core(_CHILD, genre, str(duration))


def single_core(script: str, *args: str, timeout: float = 600) -> dict:
    """Run ``script`` in a fresh one-thread process; its last stdout line is JSON."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def row(name, figure, unit, baseline, goal, ok) -> dict:
    ratio = figure / baseline if baseline else None
    return {"name": name, "figure": figure, "unit": unit, "baseline": baseline,
            "ratio": ratio, "goal": goal, "ok": ok}


def run(quick: bool = False) -> list[dict]:
    genres = QUICK_GENRES if quick else GENRES
    rows, peak, peak_where = [], 0.0, ""
    base = _measure(genres[0], 0)["rss_mb"]
    for duration in DURATIONS:
        speeds, walls = {}, {}
        for genre in genres:
            m = _measure(genre, duration)
            speeds[genre] = duration / m["cpu"]
            walls[genre] = duration / m["wall"]
            if m["rss_mb"] > peak:
                peak, peak_where = m["rss_mb"], f"{genre} {duration}s"
        worst = min(speeds, key=speeds.get)
        x = speeds[worst]
        rows.append(row(f"composer_x_realtime_{duration}s", x, "x realtime", 1.0,
                         f">= {GOAL_X:g}x (slowest: {worst}; wall-clock {walls[worst]:.0f}x)",
                         x >= GOAL_X))
        rows.append(row(f"composer_x_realtime_{duration}s_median",
                         statistics.median(speeds.values()), "x realtime", 1.0,
                         "info (" + ", ".join(f"{g} {s:.0f}x" for g, s in speeds.items()) + ")",
                         None))
    rows.append(row("composer_peak_rss_mb", peak, "MB", base,
                     f"<= {GOAL_MB:g} MB (at {peak_where}; baseline = import only)",
                     peak <= GOAL_MB))
    return rows


def main(argv: list[str] | None = None) -> int:
    return table.main(run, __doc__.splitlines()[0], "two genres instead of ten", argv)


if __name__ == "__main__":
    raise SystemExit(main())
