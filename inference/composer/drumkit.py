"""Drum one-shots synthesised from sine sweeps, noise and metallic partials.

Each kit is rendered once per piece (a few short arrays) and then copied to
every hit, so drums cost almost nothing however busy the pattern is.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from inference.base import SAMPLE_RATE

SR = SAMPLE_RATE


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR), dtype=np.float32) / SR


def _band(x: np.ndarray, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    if lo and hi:
        sos = signal.butter(order, (lo, hi), "bandpass", fs=SR, output="sos")
    elif lo:
        sos = signal.butter(order, lo, "highpass", fs=SR, output="sos")
    else:
        sos = signal.butter(order, hi, "lowpass", fs=SR, output="sos")
    return signal.sosfilt(sos.astype(np.float32), x.astype(np.float32))


def _sweep(f0: float, f1: float, tau: float, seconds: float) -> np.ndarray:
    t = _t(seconds)
    freq = f1 + (f0 - f1) * np.exp(-t / tau)
    return np.sin(2 * np.pi * np.cumsum(freq) / SR)


def _metal(rng, seconds: float, base: float) -> np.ndarray:
    """Inharmonic square partials, the classic recipe for cymbal shimmer."""
    t = _t(seconds)
    ratios = (1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523)
    out = np.zeros_like(t)
    for r in ratios:
        out += np.sign(np.sin(2 * np.pi * base * r * t + rng.uniform(0, 6.28)))
    return out / len(ratios)


def kick(rng, style: str) -> np.ndarray:
    long = style in ("techno", "lofi")
    dur = 0.55 if long else 0.35
    t = _t(dur)
    body = _sweep(160 if style != "lofi" else 120, 48, 0.035, dur)
    body *= np.exp(-t / (0.22 if long else 0.14))
    click = _band(rng.standard_normal(t.size), 1500, 6000) * np.exp(-t / 0.004)
    out = body + 0.35 * click
    if style in ("rock", "techno"):
        out = np.tanh(1.6 * out) / np.tanh(1.6)
    return out


def snare(rng, style: str) -> np.ndarray:
    t = _t(0.35)
    tone = (np.sin(2 * np.pi * 185 * t) + 0.5 * np.sin(2 * np.pi * 330 * t)) * np.exp(-t / 0.05)
    noise = _band(rng.standard_normal(t.size), 1200, 9000) * np.exp(-t / 0.09)
    if style in ("jazz", "folk", "soft"):  # brush-like: softer tone, smeared noise
        return 0.25 * tone + 0.6 * _band(rng.standard_normal(t.size), 800, 5000) * np.exp(
            -t / 0.12) * np.minimum(1, t / 0.01)
    return 0.55 * tone + 0.8 * noise


def clap(rng) -> np.ndarray:
    t = _t(0.3)
    env = np.zeros_like(t)
    for k, delay in enumerate((0.0, 0.011, 0.022)):
        shifted = np.clip(t - delay, 0, None)
        env += np.where(t >= delay, np.exp(-shifted / (0.008 if k < 2 else 0.12)), 0)
    return _band(rng.standard_normal(t.size), 900, 3000) * env * 0.8


def hat(rng, seconds: float) -> np.ndarray:
    t = _t(max(seconds * 3, 0.08))
    src = 0.6 * _metal(rng, t.size / SR, 410) + 0.5 * rng.standard_normal(t.size)
    return _band(src, 7000, None) * np.exp(-t / seconds) * 0.6


def cymbal(rng, seconds: float, ride: bool) -> np.ndarray:
    t = _t(seconds * 2.5)
    noise = (0.35 if ride else 0.8) * rng.standard_normal(t.size)
    src = _metal(rng, t.size / SR, 520 if ride else 380) + noise
    out = _band(src, 3500 if ride else 2500, None) * np.exp(-t / seconds)
    if ride:  # the stick's ping on a ride
        out += 0.35 * np.sin(2 * np.pi * 2950 * t) * np.exp(-t / 0.25)
    return out * (0.35 if ride else 0.45)


def tom(rng, pitch: float) -> np.ndarray:
    t = _t(0.5)
    body = _sweep(pitch * 1.5, pitch, 0.05, 0.5) * np.exp(-t / 0.18)
    return body + 0.15 * _band(rng.standard_normal(t.size), 400, 3000) * np.exp(-t / 0.02)


def taiko(rng) -> np.ndarray:
    t = _t(1.4)
    body = _sweep(110, 58, 0.06, 1.4) * np.exp(-t / 0.45)
    skin = _band(rng.standard_normal(t.size), 80, 900) * np.exp(-t / 0.06)
    return 0.9 * body + 0.5 * skin


def shaker(rng) -> np.ndarray:
    t = _t(0.12)
    env = np.minimum(1, t / 0.012) * np.exp(-t / 0.035)
    return _band(rng.standard_normal(t.size), 5000, 12000) * env * 0.45


def rim(rng) -> np.ndarray:
    t = _t(0.08)
    return (np.sin(2 * np.pi * 1700 * t) * np.exp(-t / 0.012)
            + 0.3 * _band(rng.standard_normal(t.size), 2000, 8000) * np.exp(-t / 0.004)) * 0.6


def riser(rng, seconds: float) -> np.ndarray:
    """A noise sweep that climbs into the next section (the EDM build-up)."""
    t = _t(seconds)
    noise = rng.standard_normal(t.size).astype(np.float32)
    low, high = _band(noise, 300, 2000), _band(noise, 3000, 12000)
    x = t / seconds
    return (low * (1 - x) + high * x) * x**2 * 0.5


def kit(style: str, rng, tempo: float = 120.0) -> dict[str, tuple[np.ndarray, float]]:
    """name -> (one-shot, pan in -1..1)."""
    sounds = {
        "riser": (riser(rng, 4 * 60.0 / tempo), 0.0),
        "kick": (kick(rng, style), 0.0),
        "snare": (snare(rng, style), 0.05),
        "clap": (clap(rng), 0.0),
        "hat": (hat(rng, 0.045 if style != "lofi" else 0.03), 0.3),
        "open": (hat(rng, 0.22), 0.3),
        "pedal": (hat(rng, 0.03), 0.25),
        "crash": (cymbal(rng, 1.2, False), -0.35),
        "ride": (cymbal(rng, 0.9, True), 0.4),
        "tom": (tom(rng, 110), -0.2),
        "taiko": (taiko(rng), 0.0),
        "shaker": (shaker(rng), -0.3),
        "rim": (rim(rng), 0.1),
    }
    if style == "jazz":  # a ride that pings, not a wash of noise
        sounds["ride"] = (_band(cymbal(rng, 0.6, True), None, 9000) * 0.6, 0.4)
    if style in ("lofi", "jazz"):  # dusty, band-limited kit
        cutoff = 5500 if style == "lofi" else 9000
        sounds = {k: (_band(v, None, cutoff), p) for k, (v, p) in sounds.items()}
    return {k: (_tail(v), p) for k, (v, p) in sounds.items()}


def _tail(x: np.ndarray) -> np.ndarray:
    """Fade the last 15 % so a one-shot never ends on a step (an audible click)."""
    x = x.astype(np.float32)
    n = max(1, int(x.size * 0.15))
    x[-n:] *= np.linspace(1, 0, n, dtype=np.float32) ** 2
    return x
