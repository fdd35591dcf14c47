"""Instrument voices: one function per timbre family, rendering a single note.

A voice returns the note held for ``n`` samples (the caller cuts it shorter
and applies the release), so each pitch is synthesised once per piece.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import signal

from inference.base import SAMPLE_RATE

SR = SAMPLE_RATE
TAU = 2 * np.pi


def hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _t(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / SR


def _lp(x: np.ndarray, cutoff: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff, SR * 0.45), "lowpass", fs=SR, output="sos")
    return signal.sosfilt(sos.astype(np.float32), x)


def _bp(x: np.ndarray, lo: float, hi: float, order: int = 1) -> np.ndarray:
    sos = signal.butter(order, (lo, min(hi, SR * 0.45)), "bandpass", fs=SR, output="sos")
    return signal.sosfilt(sos.astype(np.float32), x)


_WRAP = 2.0**32
_TO_CYCLES = np.float32(1 / _WRAP)


def _phase(f: float, n: int, vib_rate=0.0, vib_depth=0.0, vib_delay=0.3) -> np.ndarray:
    """Phase as a uint32 accumulator (one cycle = 2**32, wrapping for free).

    Integer phase keeps long high notes exactly in tune and noise-free, which
    a float32 ``f * t`` does not; vibrato fades in the way players add it."""
    if vib_depth == 0.0:
        return np.arange(n, dtype=np.uint32) * np.uint32(round(f / SR * _WRAP))
    t = _t(n)
    depth = vib_depth * np.clip((t - vib_delay) / 0.4, 0, 1)
    inc = (np.float32(f / SR * _WRAP) * (1 + depth * np.sin(np.float32(TAU * vib_rate) * t)))
    return np.cumsum(inc.astype(np.uint32), dtype=np.uint32)


def _cycles(phase: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """Fraction of the cycle, float32 in [0, 1)."""
    if offset:
        phase = phase + np.uint32(int(offset % 1.0 * _WRAP))
    return phase.astype(np.float32) * _TO_CYCLES


def _sine(phase: np.ndarray) -> np.ndarray:
    return np.sin(np.float32(TAU) * _cycles(phase))


def _saw(phase: np.ndarray, f: float, offset: float = 0.0) -> np.ndarray:
    """Band-limited-ish sawtooth: a naive ramp with a polyBLEP correction at
    each wrap, which removes most of the aliasing a bare ramp folds back."""
    t = _cycles(phase, offset)
    out = 2 * t - 1
    dt = np.float32(min(f / SR, 0.25))
    lo = np.flatnonzero(t < dt)
    x = t[lo] / dt
    out[lo] -= x + x - x * x - 1
    hi = np.flatnonzero(t > 1 - dt)
    x = (t[hi] - 1) / dt
    out[hi] -= x * x + x + x + 1
    return out


def _adsr(n: int, attack: float, decay: float = 0.2, sustain: float = 1.0) -> np.ndarray:
    t = _t(n)
    env = np.minimum(1.0, t / max(attack, 1e-3))
    if sustain < 1.0:
        env *= sustain + (1 - sustain) * np.exp(-np.maximum(t - attack, 0) / decay)
    return env.astype(np.float32)


def _additive(f, n, ratios, amps, taus, tau2=None) -> np.ndarray:
    t = _t(n)
    out = np.zeros(n, np.float32)
    for r, a, tau in zip(ratios, amps, taus, strict=False):
        if f * r > 16000:
            continue
        env = np.exp(-t / np.float32(tau))
        if tau2 is not None:
            env = 0.7 * env + 0.3 * np.exp(-t / np.float32(tau2))
        out += np.float32(a) * _sine(_phase(f * r, n)) * env
    return out


def piano(m, n, rng):
    f = hz(m)
    k = np.arange(1, 10)
    ratios = k * np.sqrt(1 + 0.0004 * k**2)  # stiff strings run sharp
    base = float(np.clip(2.5 * (261.0 / f) ** 0.6, 0.5, 6.0))
    out = _additive(f, n, ratios, 1 / k**1.4, base / (1 + 0.5 * (k - 1)), base * 3)
    hammer = _bp(rng.standard_normal(min(n, 2400)).astype(np.float32), 800, 5000)
    out[: hammer.size] += 0.08 * hammer * np.exp(-_t(hammer.size) / 0.004)
    return out * np.minimum(1, _t(n) / 0.002)


def epiano(m, n, rng):
    f, t = hz(m), _t(n)
    index = 1.8 * np.exp(-t / 0.25) + 0.25
    carrier = np.float32(TAU) * _cycles(_phase(f, n, 0.55, 0.0012, 0.0))  # tape-ish wow
    tone = np.sin(carrier + index * np.sin(carrier))
    tine = 0.15 * _sine(_phase(f * 7.0, n)) * np.exp(-t / 0.05)
    return ((tone + tine) * np.exp(-t / 1.6) * np.minimum(1, t / 0.003)).astype(np.float32)


def bells(m, n, rng):
    ratios = (0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 3.011)
    amps = (0.4, 1.0, 0.5, 0.45, 0.35, 0.2, 0.12)
    taus = (4.0, 3.0, 1.6, 1.2, 0.9, 0.5, 0.3)
    return _additive(hz(m), n, ratios, amps, taus) * np.minimum(1, _t(n) / 0.002)


def organ(m, n, rng):
    t = _t(n)
    out = _additive(hz(m), n, (0.5, 1, 1.5, 2, 3, 4), (0.5, 1, 0.45, 0.55, 0.25, 0.2), (1e9,) * 6)
    rotary = 1 + 0.12 * np.sin(TAU * 6.2 * t)
    return out * rotary * _adsr(n, 0.01)


def _ks(m, n, rng, t60: float, bright: float, pick: float = 0.2) -> np.ndarray:
    """Karplus-Strong as one IIR comb: delay line + two-tap average + allpass tuning."""
    f = hz(m)
    period = SR / f - 0.5  # the two-tap average adds half a sample
    length = int(period - 0.1)
    frac = period - length
    c = (1 - frac) / (1 + frac)
    g = 10 ** (-3 / (f * t60)) * 0.5
    excite = rng.uniform(-1, 1, length).astype(np.float32)
    excite = signal.lfilter([bright], [1, bright - 1], excite)  # darker pluck = softer pick
    shift = max(1, int(pick * length))
    excite[shift:] -= excite[:-shift] * 0.7  # pick position comb
    x = np.zeros(n, np.float32)
    x[:length] = excite
    a = np.zeros(length + 3)
    a[0], a[1] = 1.0, c
    a[length:length + 3] -= g * np.array([c, 1 + c, 1.0])
    return signal.lfilter([1.0, c], a, x).astype(np.float32)


def acoustic_guitar(m, n, rng):
    return _lp(_ks(m, n, rng, 2.5, 0.6, 0.18), 6000)


def electric_guitar(m, n, rng):
    return _lp(_ks(m, n, rng, 3.5, 0.35, 0.3), 3500)


def heavy_guitar(m, n, rng):
    return _ks(m, n, rng, 8.0, 0.7, 0.12)


def bass(m, n, rng):
    k = np.arange(1, 7)
    out = _additive(hz(m), n, k, (1.0, 0.5, 0.3, 0.15, 0.1, 0.05), 1.2 / k**0.7, 4.0)
    return out * np.minimum(1, _t(n) / 0.004)


def synth_bass(m, n, rng):
    f, t = hz(m), _t(n)
    raw = _saw(_phase(f, n), f) + 0.6 * _sine(_phase(f / 2, n))
    dark, bright = _lp(raw, 300), _lp(raw, 2000)
    env = np.exp(-t / 0.12)
    return (dark + (bright - dark) * env) * _adsr(n, 0.004)


def _ensemble(m, n, rng, voices, cents, attack, cutoff, vib=0.004):
    f = hz(m)
    out = np.zeros(n, np.float32)
    for d in np.linspace(-cents, cents, voices):
        ph = _phase(f * 2 ** (d / 1200), n, 5.0 + rng.uniform(-0.5, 0.5), vib, 0.2)
        out += _saw(ph, f, rng.uniform())
    return _lp(out / voices, cutoff) * _adsr(n, attack)


def strings(m, n, rng):
    return _ensemble(m, n, rng, 3, 9, 0.25, 3500)


def low_strings(m, n, rng):
    return _ensemble(m, n, rng, 3, 7, 0.15, 1500)


def violin(m, n, rng):
    raw = _saw(_phase(hz(m), n, 5.6, 0.006, 0.15), hz(m))
    return _bp(_lp(raw, 5000), 300, 4500) * _adsr(n, 0.08) * 1.6


def pad(m, n, rng):
    f = hz(m)
    raw = np.zeros(n, np.float32)
    for d in np.linspace(-14, 14, 4):
        raw += _saw(_phase(f * 2 ** (d / 1200), n), f, rng.uniform())
    dark, bright = _lp(raw, 700), _lp(raw, 2600)
    # the filter breathes slowly, so a held chord keeps moving
    sweep = 0.5 - 0.5 * np.cos(np.float32(TAU * rng.uniform(0.05, 0.12)) * _t(n))
    return (dark + (bright - dark) * sweep) * _adsr(n, 0.9) * 0.25


def brass(m, n, rng):
    f, t = hz(m), _t(n)
    raw = _saw(_phase(f, n, 5.0, 0.003, 0.4), f) + _saw(_phase(f * 1.003, n), f)
    dark, bright = _lp(raw, 700), _lp(raw, 3200)
    swell = np.clip(t / 0.15, 0, 1) * (0.7 + 0.3 * np.exp(-t / 0.5))
    return (dark + (bright - dark) * swell) * _adsr(n, 0.05) * 0.6


def saxophone(m, n, rng):
    f = hz(m)
    raw = _saw(_phase(f, n, 5.2, 0.005, 0.25), f)
    body = _bp(raw, 400, 3000, 2) * 1.5
    breath = _bp(rng.standard_normal(n).astype(np.float32), 1500, 5000) * 0.04
    return np.tanh(1.5 * body + breath) * _adsr(n, 0.04)


def flute(m, n, rng):
    f = hz(m)
    ph = np.float32(TAU) * _cycles(_phase(f, n, 5.0, 0.004, 0.3))
    tone = np.sin(ph) + 0.12 * np.sin(2 * ph) + 0.05 * np.sin(3 * ph)
    breath = _bp(rng.standard_normal(n).astype(np.float32), f, f * 3) * 0.25
    return (tone.astype(np.float32) + breath) * _adsr(n, 0.07)


def harmonica(m, n, rng):
    ph = _phase(hz(m), n, 6.0, 0.006, 0.2)
    pulse = _saw(ph, hz(m)) - _saw(ph, hz(m), 0.3)
    trem = 1 + 0.15 * np.sin(TAU * 5.5 * _t(n))
    return _bp(pulse, 600, 3500, 2) * trem * _adsr(n, 0.03) * 1.2


def synth_lead(m, n, rng):
    f = hz(m)
    raw = _saw(_phase(f, n, 5.5, 0.004, 0.35), f) + _saw(_phase(f * 1.004, n), f, 0.3)
    return _lp(raw, 4200) * _adsr(n, 0.01, 0.3, 0.8) * 0.6


def arp(m, n, rng):
    f, t = hz(m), _t(n)
    square = np.where(_cycles(_phase(f / 2, n)) < 0.5, np.float32(0.5), np.float32(-0.5))
    raw = _saw(_phase(f, n), f) + square
    dark, bright = _lp(raw, 600), _lp(raw, 5000)
    return (dark + (bright - dark) * np.exp(-t / 0.08)) * np.exp(-t / 0.3) * 0.5


@dataclass(frozen=True)
class Voice:
    render: Callable
    release: float  # seconds of fade after note-off
    max_len: float  # longest held note rendered; longer notes are cut
    pan: float
    send: float  # reverb send
    drive: float = 0.0  # waveshaping applied to the whole part


VOICES: dict[str, Voice] = {
    "piano": Voice(piano, 0.25, 6.0, -0.15, 0.3),
    "electric piano": Voice(epiano, 0.2, 5.0, -0.2, 0.3),
    "bells": Voice(bells, 2.5, 6.0, 0.35, 0.55),
    "organ": Voice(organ, 0.06, 10.0, 0.25, 0.2),
    "acoustic guitar": Voice(acoustic_guitar, 0.08, 3.0, -0.3, 0.25),
    "electric guitar": Voice(electric_guitar, 0.08, 3.0, 0.3, 0.25),
    "distorted guitar": Voice(heavy_guitar, 0.05, 4.0, -0.6, 0.12, 6.0),
    "lead guitar": Voice(heavy_guitar, 0.08, 4.0, 0.25, 0.2, 3.0),
    "bass": Voice(bass, 0.06, 4.0, 0.0, 0.05),
    "synth bass": Voice(synth_bass, 0.03, 4.0, 0.0, 0.05),
    "strings": Voice(strings, 0.6, 12.0, 0.2, 0.45),
    "low strings": Voice(low_strings, 0.5, 12.0, -0.1, 0.35),
    "violin": Voice(violin, 0.15, 6.0, 0.3, 0.35),
    "pad": Voice(pad, 1.5, 16.0, 0.0, 0.5),
    "brass": Voice(brass, 0.15, 8.0, -0.25, 0.35),
    "saxophone": Voice(saxophone, 0.08, 6.0, 0.2, 0.3),
    "flute": Voice(flute, 0.12, 6.0, 0.3, 0.35),
    "harmonica": Voice(harmonica, 0.08, 6.0, 0.25, 0.25),
    "synth lead": Voice(synth_lead, 0.12, 6.0, 0.15, 0.3),
    "arp": Voice(arp, 0.05, 1.0, -0.35, 0.35),
}
