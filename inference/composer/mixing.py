"""Balancing parts against each other by measured, K-weighted level.

Synth voices differ wildly in raw level (a distorted guitar, a sine flute, a
ride cymbal), so fixed gains cannot give a sensible mix across genres. Each
part is measured while it plays and set to a target per role; the master
then sets the overall loudness.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from inference.base import SAMPLE_RATE
from inference.composer.master import K_SOS32

SR = SAMPLE_RATE
BLOCK = 4800  # 100 ms
MAX_BLOCKS = 240

# dB (K-weighted, while playing) per role; only differences matter.
ROLE_TARGET = {"melody": -17.0, "answer": -17.0, "chords": -20.0, "bass": -20.0,
               "layer": -25.0, "broken": -25.0, "sparkle": -24.0, "arp": -24.0,
               "drone": -26.0}
GENRE_TARGET = {
    "ambient": {"chords": -18.0, "melody": -20.0},
    "electronic": {"melody": -19.0, "chords": -22.0, "bass": -19.0, "arp": -23.0},
    "rock": {"chords": -17.0, "melody": -18.0, "bass": -20.0},
    "jazz": {"chords": -21.0, "bass": -19.0},
    "lofi": {"melody": -20.0, "chords": -19.0},
    "classical": {"chords": -17.0},
    "cinematic": {"chords": -18.0, "bass": -21.0, "melody": -18.0},
}
DRUM_TARGET = {"rock": -16.0, "techno": -15.0, "pop": -17.0, "lofi": -17.0, "jazz": -23.0,
               "shuffle": -20.0, "folk": -22.0, "cinematic": -17.0, "soft": -24.0}
VOICE_TARGET = -15.0  # a sung line sits on top of everything
ROLE_RANK = ("melody", "answer", "chords", "bass", "arp", "sparkle", "layer", "broken", "drone")


def target_db(genre: str, roles: list[str]) -> float:
    """An instrument with several roles is balanced for its most exposed one."""
    role = min(roles, key=ROLE_RANK.index)
    return GENRE_TARGET.get(genre, {}).get(role, ROLE_TARGET[role])


def active_level_db(x: np.ndarray) -> float:
    """Mean K-weighted power (dB) over the 100 ms blocks where the part plays
    (within 30 dB of its loudest), measured on an evenly spaced subset of blocks."""
    nb = x.size // BLOCK
    if nb == 0:
        blocks = x[None, :]
    else:
        blocks = x[: nb * BLOCK].reshape(nb, BLOCK)[:: max(1, nb // MAX_BLOCKS)]
    power = np.mean(signal.sosfilt(K_SOS32, blocks, axis=1) ** 2, axis=1)
    top = float(power.max(initial=0.0))
    if top <= 1e-14:
        return -120.0
    return float(10 * np.log10(power[power > top * 1e-3].mean()))


def drum_level_db(hits: list, kit: dict, tempo: float) -> float:
    """Analytic level of a drum part: hits are short and rarely overlap much,
    so their energies add; averaged over the bars that have drums."""
    if not hits:
        return -120.0
    energy = {name: float(np.sum(signal.sosfilt(K_SOS32, snd) ** 2)) * 0.5
              for name, (snd, _pan) in kit.items()}
    total = sum(vel * vel * energy[name] for _beat, name, vel in hits)
    bars = len({int(beat // 4) for beat, _n, _v in hits})
    seconds = bars * 4 * 60.0 / tempo
    return float(10 * np.log10(max(total / (seconds * SR), 1e-14)))


def gain_for(level_db: float, target: float) -> float:
    return float(10 ** ((target - level_db) / 20)) if level_db > -119 else 1.0
