"""A synthetic singing voice: formant synthesis, one note per syllable.

Source: a band-limited sawtooth (its 1/k harmonics are close to a radiated
glottal pulse) that scoops up into pitch and grows a vibrato on held notes,
with a little breath noise. Filter: three cascaded formant resonators (unity
gain at DC, as in a classic cascade synthesiser) set to the syllable's vowel.
Consonants are only suggested: a short noise burst before a plosive, a hiss
before a fricative, a slower swell for m/n/l/r. It sings; it does not speak.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy import signal

from inference.composer.instruments import SR, _saw, hz
from inference.composer.render import _release_ramp, beat_times
from inference.composer.singer import SungNote

# (F1, F2, F3) in Hz, between typical adult male and female values.
FORMANTS = {"a": (780, 1220, 2600), "e": (520, 1850, 2550), "i": (320, 2250, 3000),
            "o": (520, 880, 2500), "u": (350, 820, 2350)}
BANDWIDTHS = (80, 100, 160)
ATTACK = {"plosive": 0.012, "fricative": 0.02, "": 0.02, "voiced": 0.04}
RELEASE = 0.06
ARTICULATION = 0.85  # share of a note's slot that is voiced; the gap is where a consonant goes
_WRAP = 2.0**32


@cache
def tract(vowel: str) -> np.ndarray:
    """Second-order sections of the vowel's cascade of formant resonators."""
    rows = []
    for f, bw in zip(FORMANTS[vowel], BANDWIDTHS, strict=True):
        r = np.exp(-np.pi * bw / SR)
        b1, b2 = 2 * r * np.cos(2 * np.pi * f / SR), -r * r
        rows.append([1 - b1 - b2, 0.0, 0.0, 1.0, -b1, -b2])
    return np.array(rows, np.float32)


def _source(f: float, n: int, rng, breath: np.ndarray) -> np.ndarray:
    t = np.arange(n, dtype=np.float32) / np.float32(SR)
    vibrato = 0.006 * np.clip((t - 0.2) / 0.3, 0, 1) * np.sin(
        np.float32(2 * np.pi * 5.3) * t + np.float32(rng.uniform(0, 6.28)))
    scoop = 0.03 * np.exp(-t / np.float32(0.04))  # singers slide up into a note
    inc = np.float32(f / SR * _WRAP) * (1 + vibrato - scoop)
    phase = np.cumsum(inc.astype(np.uint32), dtype=np.uint32)
    out = _saw(phase, f)
    start = int(rng.integers(0, breath.size - n)) if breath.size > n else 0
    out[: min(n, breath.size)] += breath[start:start + n]
    return out


def _bursts(rng) -> dict[str, np.ndarray]:
    """The consonant noises, made once per render."""
    def noise(seconds, lo, hi, tau):
        n = int(seconds * SR)
        t = np.arange(n, dtype=np.float32) / SR
        sos = signal.butter(2, (lo, hi), "bandpass", fs=SR, output="sos")
        x = signal.sosfilt(sos, rng.standard_normal(n)).astype(np.float32)
        env = np.minimum(1, t / 0.003) * np.exp(-t / tau) if tau else np.sin(np.pi * t / t[-1])
        return (x * env / (np.abs(x).max() + 1e-9)).astype(np.float32)
    return {"plosive": noise(0.02, 1500, 7000, 0.005) * 0.5,
            "fricative": noise(0.06, 3500, 10000, 0.0) * 0.3}


def render(notes: list[SungNote], total: int, tempo: float, swing: float, rng,
           played: list | None = None) -> np.ndarray:
    """The dry vocal stem: mono, ``total`` samples; ``played`` (when given) gets
    each sung note as performed: (index in ``notes``, onset s, length s, velocity)."""
    out = np.zeros(total, np.float32)
    if not notes:
        return out
    starts = beat_times(np.array([n.start for n in notes]), tempo, swing, swing > 0.3)
    starts = starts + rng.normal(0, 0.006, len(notes))  # a singer is a little loose
    bursts = _bursts(rng)
    breath = (signal.sosfilt(signal.butter(1, 1200, "highpass", fs=SR, output="sos"),
                             rng.standard_normal(2 * SR)) * 0.05).astype(np.float32)
    for i, (note, t0) in enumerate(zip(notes, starts, strict=True)):
        s0 = max(0, int(round(t0 * SR)))
        span = int(note.length * 60.0 / tempo * ARTICULATION * SR)
        rel = min(int(RELEASE * SR), span // 3)
        held = span - rel
        n = min(span, total - s0)
        if n <= rel:
            continue
        if played is not None:
            played.append((i, s0 / SR, n / SR, note.velocity))
        f = hz(note.pitch) * 2 ** (rng.normal(0, 4) / 1200)
        y = signal.sosfilt(tract(note.vowel), _source(f, n, rng, breath))
        y *= np.float32(note.velocity / (np.sqrt(np.dot(y, y) / n) + 1e-9) * 0.25)
        attack = int(ATTACK[note.onset] * SR)
        y[:attack] *= np.linspace(0, 1, attack, dtype=np.float32)
        k = min(held, n)
        y[k:] *= _release_ramp(rel)[: n - k]
        out[s0:s0 + n] += y
        burst = bursts.get(note.onset)
        if burst is not None:
            b0 = max(0, s0 - burst.size // 2)  # the consonant leads into the beat
            m = min(burst.size, total - b0)
            out[b0:b0 + m] += burst[:m] * np.float32(note.velocity)
    return out
