"""Environmental beds laid under the music: rain, vinyl, ocean, wind.

Each bed is synthesised as a loop of at most ``LOOP_S`` seconds per channel
and tiled with a crossfade; at that length the repetition is not audible but
the cost no longer grows with the piece's duration.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from inference.base import SAMPLE_RATE

SR = SAMPLE_RATE
LOOP_S = 16.0
XFADE = int(0.5 * SR)
# Level under the music, dB relative to the music's RMS.
LEVEL_DB = {"rain": -14.0, "vinyl": -17.0, "ocean": -13.0, "wind": -17.0}
# A record's crackle is in both channels at once; weather comes from everywhere.
MONO = {"vinyl"}


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
    """Surface hiss, a bed of fine crackle and the occasional louder pop."""
    hiss = signal.sosfilt(_sos("bandpass", (2500, 12000)), rng.standard_normal(n).astype(
        np.float32))
    clicks = np.zeros(n, np.float32)
    fine = rng.integers(0, n, int(n / SR * 40))
    clicks[fine] = rng.standard_normal(fine.size).astype(np.float32) * 3
    pops = rng.integers(0, n, int(n / SR * 2))
    clicks[pops] = rng.choice([-1, 1], pops.size).astype(np.float32) * 14
    crackle = signal.sosfilt(_sos("bandpass", (1200, 9000)), clicks)
    return 0.35 * hiss + crackle


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


def _loop_add(dest: np.ndarray, loop: np.ndarray, gain: float) -> None:
    """Tile ``loop`` over ``dest`` (in place) with a crossfade at each seam."""
    g = np.float32(gain)
    if loop.size >= dest.size:
        dest += loop[: dest.size] * g
        return
    fade = np.linspace(0, 1, XFADE, dtype=np.float32)
    body = loop[: loop.size - XFADE] * g
    body[:XFADE] = body[:XFADE] * fade + loop[-XFADE:] * g * (1 - fade)
    for s0 in range(0, dest.size, body.size):
        n = min(body.size, dest.size - s0)
        dest[s0:s0 + n] += body[:n]


def add_bed(kinds, music_rms: float, rng, left: np.ndarray, right: np.ndarray) -> None:
    """Lay the named ambiences under the music at ``LEVEL_DB`` below its RMS."""
    n = min(left.size + XFADE, int(LOOP_S * SR))
    for kind in kinds:
        loop = None
        for dest in (left, right):
            if loop is None or kind not in MONO:
                loop = _BEDS[kind](rng, n).astype(np.float32)
                rms = float(np.sqrt(np.mean(loop**2))) or 1.0
            _loop_add(dest, loop, music_rms * 10 ** (LEVEL_DB[kind] / 20) / rms)
