"""Edit speed and memory (extend, repaint, cover) on the composer and tiny ACE-Step.

    python bench/bench_edits.py [--quick]

Every measurement runs in a fresh subprocess pinned to one CPU (one thread), so
its CPU time is one core's and its peak RSS is that one job's engine work:
master in memory, the render, the splice.

Rows (``run()`` returns them as dicts: name, figure, unit, baseline, ratio, goal, ok):
* ``edit_<engine>_<task>_s_per_audio_s`` - CPU seconds per second of *result*
  audio for an edit (master already in memory, as the worker has it after the
  download). Baseline: a plain render of the same length in the same run.
  Ratio = edit / plain; composer goal <= 1.1 (no slower per audio second than a
  plain render; 10 % for the splice and timing noise); ACE-Step: info (an edit
  also VAE-encodes its source, which on the tiny pipeline costs more than the
  whole DiT: ~5.6 s CPU per 30 s of audio, vs 1.4 s to decode it).
* ``edit_<engine>_extend_<N>s_peak_rss_mb`` - peak RSS of the process that
  extends a piece to N seconds (the longest result an edit may make is 240 s;
  the composer's own pieces reach 180 s: a 120 s piece + 60). Baseline: the
  peak RSS of a plain 120 s render in the same run. Goal: the worker's memory
  (the compose file gives a worker no limit; 2 GiB is what we assume a CPU
  worker may use, and the real ACE-Step worker is sized by the GPU bench).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import table  # noqa: E402
from bench.bench_composer import PINNED_PROLOGUE, row, single_core  # noqa: E402

GOAL_RATIO = 1.1
GOAL_MB = 2048.0

_CHILD = PINNED_PROLOGUE + r"""
engine_name, task, source_s, result_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
from inference.edit import EditRequest, as_written
if engine_name == "composer":
    from inference.composer import ComposerEngine
    engine = ComposerEngine()
    prompt = "upbeat pop with piano and drums"
else:
    os.environ["ACESTEP_MODEL_DIR"] = sys.argv[5]
    os.environ["ACESTEP_DEVICE"] = "cpu"
    import torch
    torch.set_num_threads(1)
    from inference.acestep import AceStepEngine
    engine = AceStepEngine()
    engine.setup()
    prompt = "mellow piano over dusty drums"
source = {"prompt": prompt, "duration": source_s, "seed": 1}
if task.startswith("plain"):
    if task == "plain-cover":
        source["prompt"] = "smooth jazz with saxophone"
    c0 = time.process_time()
    engine.generate(**{**source, "duration": result_s})
    cpu = time.process_time() - c0
else:
    master = as_written(engine.generate(**source))
    rss_before = peak_mb()
    kw = {"extend": {"extend_from": source_s},
          "repaint": {"start": source_s * 0.25, "end": source_s * 0.25 + min(30, source_s / 2),
                      "strength": 0.5},
          "cover": {"strength": 0.5}}[task]
    inputs = {**source, "duration": result_s, "seed": 2}
    if task == "cover":
        inputs["prompt"] = "smooth jazz with saxophone"
    c0 = time.process_time()
    engine.edit(EditRequest(task=task, source=source, inputs=inputs, audio=master, **kw))
    cpu = time.process_time() - c0
print(json.dumps({"cpu": cpu, "rss_mb": peak_mb()}))
"""


def _measure(engine: str, task: str, source_s: int, result_s: int, model: str = "") -> dict:
    return single_core(_CHILD, engine, task, str(source_s), str(result_s), model, timeout=1800)


def _engine_rows(engine: str, length: int, long: tuple, model: str = "") -> list:
    """``long``: (plain length for the RSS baseline, (source, result) extensions...)."""
    rows = []
    for task in ("extend", "repaint", "cover"):
        source_s = length // 2 if task == "extend" else length
        # the plain render of what the edit makes (a cover's is the new prompt's)
        # best of 3 on the (fast) composer: one core is shared with whatever else runs
        tries = 3 if engine == "composer" else 1
        plain = min((_measure(engine, "plain-cover" if task == "cover" else "plain", source_s,
                              length, model) for _ in range(tries)), key=lambda m: m["cpu"])
        edit = min((_measure(engine, task, source_s, length, model) for _ in range(tries)),
                   key=lambda m: m["cpu"])
        per_plain, per_edit = plain["cpu"] / length, edit["cpu"] / length
        if engine == "composer":
            goal, ok = f"<= {GOAL_RATIO:g}x a plain {length}s render", (
                per_edit <= GOAL_RATIO * per_plain)
        else:  # the source's VAE encode is work a plain render does not have
            goal, ok = f"info (plain {length}s; + VAE encode of the source)", None
        rows.append(row(f"edit_{engine}_{task}_s_per_audio_s", per_edit, "cpu s/audio s",
                         per_plain, goal, ok))
    plain = _measure(engine, "plain", long[0], long[0], model)
    for source_s, result_s in long[1:]:
        edit = _measure(engine, "extend", source_s, result_s, model)
        rows.append(row(f"edit_{engine}_extend_{result_s}s_peak_rss_mb", edit["rss_mb"], "MB",
                         plain["rss_mb"], f"<= {GOAL_MB:g} MB (baseline: plain {long[0]}s; "
                         f"source {source_s}s)",
                         edit["rss_mb"] <= GOAL_MB))
    return rows


def run(quick: bool = False) -> list[dict]:
    import tempfile

    composer = (30, (30, 60)) if quick else (120, (120, 180), (120, 240))
    rows = _engine_rows("composer", 30 if quick else 120, composer)
    with tempfile.TemporaryDirectory() as folder:
        from tests.support.tiny_acestep import save_tiny_pipeline

        model = str(save_tiny_pipeline(Path(folder) / "tiny-turbo"))
        acestep = (10, (10, 20)) if quick else (120, (180, 240))
        rows += _engine_rows("acestep", 10 if quick else 30, acestep, model)
    return rows


def main(argv: list[str] | None = None) -> int:
    return table.main(run, __doc__.splitlines()[0], "shorter pieces", argv)


if __name__ == "__main__":
    raise SystemExit(main())
