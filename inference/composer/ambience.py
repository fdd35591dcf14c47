"""Environmental beds laid under the music: rain, vinyl, ocean, wind.

Each bed is synthesised as a loop of at most ``LOOP_S`` seconds per channel
and tiled with a crossfade; at that length the repetition is not audible but
the cost no longer grows with the piece's duration.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

SR = 48_000
LOOP_S = 16.0
XFADE = int(0.5 * SR)
# Level under the music, dB relative to the music's RMS.
LEVEL_DB = {"rain": -15.0, "vinyl": -20.0, "ocean": -13.0, "wind": -17.0}


def _sos(kind, freq, order=2):
    return signal.butter(order, freq, kind, fs=SR, output="sos").astype(np.float32)


def _slow(rng, n: int, rate: float) -> np.ndarray:
    """Smooth random control signal in 0..1 (a few random sines)."""
    t = np.arange(n, dtype=np.float32) / SR
    out = np.zeros(n, np.float32)
    for k in range(3):
        out += np.sin(2 * np.pi * rate * (k + 1) * 0.73 * t + rng.uniform(0, 6.3)).astype(
            np.float32) / (k + 1)
    return 0.5 + 0.5 * out / 1.84


def rain(rng, n):
    hiss = signal.sosfilt(_sos("bandpass", (800, 9000)), rng.standard_normal(n).astype(np.float32))
    drops = np.zeros(n, np.float32)
    pos = rng.integers(0, n, int(n / SR * 90))
    drops[pos] = rng.uniform(0.3, 1.0, pos.size).astype(np.float32)
    drop_ir = (np.exp(-np.arange(240) / 30.0) * np.sin(np.arange(240) * 0.9)).astype(np.float32)
    drops = signal.oaconvolve(drops, drop_ir)[:n]
    return hiss * (0.7 + 0.3 * _slow(rng, n, 0.05)) + 0.6 * drops


def vinyl(rng, n):
    hiss = signal.sosfilt(_sos("highpass", 3000), rng.standard_normal(n).astype(np.float32))
    clicks = np.zeros(n, np.float32)
    pos = rng.integers(0, n, int(n / SR * 14))
    clicks[pos] = (rng.standard_normal(pos.size) * 6).astype(np.float32)
    crackle = signal.sosfilt(_sos("bandpass", (1500, 9000)), clicks)
    rumble = signal.sosfilt(_sos("lowpass", 60), rng.standard_normal(n).astype(np.float32)) * 2
    return 0.25 * hiss + crackle + rumble


def ocean(rng, n):
    noise = rng.standard_normal(n).astype(np.float32)
    body = signal.sosfilt(_sos("lowpass", 900), noise)
    spray = signal.sosfilt(_sos("bandpass", (2000, 8000)), noise) * 0.35
    swell = _slow(rng, n, 1 / 9.0) ** 2
    return (body + spray * swell) * (0.25 + swell)


def wind(rng, n):
    noise = rng.standard_normal(n).astype(np.float32)
    low = signal.sosfilt(_sos("bandpass", (200, 700)), noise)
    high = signal.sosfilt(_sos("bandpass", (700, 2500)), noise)
    gust = _slow(rng, n, 1 / 6.0)
    return (low * (1 - gust) + high * gust) * (0.3 + gust)


_BEDS = {"rain": rain, "vinyl": vinyl, "ocean": ocean, "wind": wind}


def _tile(loop: np.ndarray, total: int) -> np.ndarray:
    if loop.size >= total:
        return loop[:total]
    fade = np.linspace(0, 1, XFADE, dtype=np.float32)
    body = loop[: loop.size - XFADE].copy()
    body[:XFADE] = body[:XFADE] * fade + loop[-XFADE:] * (1 - fade)
    reps = -(-total // body.size)
    return np.tile(body, reps)[:total]


def bed(kinds, total: int, music_rms: float, rng) -> tuple[np.ndarray, np.ndarray] | None:
    if not kinds:
        return None
    n = min(total + XFADE, int(LOOP_S * SR))
    out = []
    for _ in range(2):
        mix = np.zeros(total, np.float32)
        for kind in kinds:
            layer = _tile(_BEDS[kind](rng, n).astype(np.float32), total)
            rms = float(np.sqrt(np.mean(layer**2))) or 1.0
            mix += layer * np.float32(music_rms * 10 ** (LEVEL_DB[kind] / 20) / rms)
        out.append(mix)
    return out[0], out[1]
