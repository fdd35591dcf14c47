"""The composer's delivered sound, measured with independent tools, every genre x duration.

    python bench/bench_sound.py [--quick]

Each genre renders at 30, 60 and 120 s (seed 1, prompt "a piece of music"),
is quantised to 16 bits as the WAV delivers it, then measured:
* integrated loudness by pyloudnorm (ITU-R BS.1770-4), goal -14 LUFS +/- 0.5;
* true peak: 4x oversampled with scipy's resample_poly, goal <= -1 dBTP;
* clipping: samples at full scale (goal: none).
Rows: ``sound_lufs_worst`` (the largest deviation from -14), ``sound_true_peak_max``,
``sound_clipped_samples``; baseline -14 LUFS / -1 dBTP / none.
"""

from __future__ import annotations

import numpy as np

from bench import table
from bench.bench_composer import row

TARGET, TOLERANCE, CEILING = -14.0, 0.5, -1.0
DURATIONS = (30, 60, 120)
QUICK = ("rock", "ambient", "pop")


def measure(audio: np.ndarray) -> dict:
    import pyloudnorm
    from scipy import signal

    pcm = np.round(np.clip(audio.astype(np.float64), -1, 1) * 32767) / 32767
    lufs = pyloudnorm.Meter(48_000).integrated_loudness(pcm)
    up = signal.resample_poly(pcm, 4, 1, axis=0)
    return {"lufs": float(lufs), "true_peak": float(20 * np.log10(np.abs(up).max())),
            "clipped": int(np.sum(np.abs(pcm) >= 32767 / 32767))}


def run(quick: bool = False) -> list[dict]:
    from inference.composer import ComposerEngine
    from inference.composer.styles import STYLES

    engine = ComposerEngine()
    genres = QUICK if quick else tuple(STYLES)
    durations = (30,) if quick else DURATIONS
    results = {}
    for genre in genres:
        for duration in durations:
            audio = engine.generate(prompt="a piece of music", genre=genre, duration=duration,
                                    seed=1)
            results[(genre, duration)] = measure(audio)
    worst = max(results, key=lambda k: abs(results[k]["lufs"] - TARGET))
    peak = max(results, key=lambda k: results[k]["true_peak"])
    clipped = sum(m["clipped"] for m in results.values())
    span = f"{len(genres)} genres x {'/'.join(map(str, durations))} s"
    lufs = [m["lufs"] for m in results.values()]
    return [
        row("sound_lufs_worst", results[worst]["lufs"], "LUFS", TARGET,
             f"-14 +/- {TOLERANCE} ({span}; worst {worst[0]} {worst[1]}s; range "
             f"{min(lufs):.2f}..{max(lufs):.2f})",
             all(abs(x - TARGET) <= TOLERANCE for x in lufs)),
        row("sound_true_peak_max", results[peak]["true_peak"], "dBTP", CEILING,
             f"<= -1 dBTP, 4x oversampled (at {peak[0]} {peak[1]}s)",
             results[peak]["true_peak"] <= CEILING),
        row("sound_clipped_samples", float(clipped), "samples", None, "0 at full scale",
             clipped == 0),
    ]


def main(argv: list[str] | None = None) -> int:
    return table.main(run, __doc__.splitlines()[0], "three genres at 30 s", argv)


if __name__ == "__main__":
    raise SystemExit(main())
