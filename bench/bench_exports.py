"""Cost of the composer's exports (MIDI + stems), as the `encode` worker makes them.

    python bench/bench_exports.py [--quick]

For a full band with a singer (drums, bass, chords, lead, voice, rain) at 30,
60 and 120 s, one fresh single-core process per measurement (as in
bench_composer) times ``perform()`` (the parts rendered apart, every note
recorded) + the MIDI file + the stems zip, against ``generate()`` of the same
piece in the same process.
Rows: ``exports_s_per_audio_s_<N>s`` - CPU seconds per second of audio (goal
<= 0.1: ten times faster than real time, on the CPU queue; baseline: the
render's own s/s); ``exports_midi_kb_<N>s`` and ``exports_stems_mb_<N>s`` -
sizes (info); ``exports_peak_rss_mb`` - the export worker's peak (info).
"""

from __future__ import annotations

import json

from bench import table
from bench.bench_composer import PINNED_PROLOGUE, row, single_core

GOAL = 0.1
LYRICS = "\n".join(["[verse]", "walking down the river road", "every light is burning gold",
                    "[chorus]", "sing it loud and sing it clear", "we are here we are here"] * 3)

_CHILD = PINNED_PROLOGUE + r"""
import io
from inference.composer import ComposerEngine, midi, stems
from inference.composer.engine import GROUPS
kw = json.loads(sys.argv[1])
engine = ComposerEngine()
engine.setup()
c0 = time.process_time()
engine.generate(**kw)
render = time.process_time() - c0
c0 = time.process_time()
perf = engine.perform(**kw)
data = midi.to_midi(perf)
buf = io.BytesIO()
parts = stems.to_zip(perf.stems, GROUPS, "music_bench", buf)
export = time.process_time() - c0
print(json.dumps({"render": render, "export": export, "midi": len(data),
                  "zip": buf.getbuffer().nbytes, "parts": parts, "rss_mb": peak_mb()}))
"""


def _measure(duration: int) -> dict:
    kw = {"prompt": "upbeat pop song with drums, bass, piano, lead synth and rain",
          "duration": duration, "seed": 1, "lyrics": LYRICS}
    return single_core(_CHILD, json.dumps(kw))


def run(quick: bool = False) -> list[dict]:
    rows, peak = [], 0.0
    for duration in (30,) if quick else (30, 60, 120):
        m = _measure(duration)
        per_s = m["export"] / duration
        rows.append(row(f"exports_s_per_audio_s_{duration}s", per_s, "s/s",
                         m["render"] / duration,
                         f"<= {GOAL:g} (baseline: generate() s/s; {len(m['parts'])} stems)",
                         per_s <= GOAL))
        rows.append(row(f"exports_midi_kb_{duration}s", m["midi"] / 1024, "KB", None,
                         "info", None))
        rows.append(row(f"exports_stems_mb_{duration}s", m["zip"] / 2**20, "MB",
                         duration * 48_000 * 2 * 3 * len(m["parts"]) / 2**20,
                         "info (baseline: the same stems as 24-bit PCM)", None))
        peak = max(peak, m["rss_mb"])
    rows.append(row("exports_peak_rss_mb", peak, "MB", None,
                     "info (the encode worker's process while exporting)", None))
    return rows


def main(argv: list[str] | None = None) -> int:
    return table.main(run, __doc__.splitlines()[0], "30 s only", argv)


if __name__ == "__main__":
    raise SystemExit(main())
