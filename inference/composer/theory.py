"""Pitch material: keys, scales, roman-numeral chords and voice leading."""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_PC = {n: i for i, n in enumerate(NOTE_NAMES)}
_PC.update({"Db": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10, "Cb": 11, "E#": 5, "Fb": 4, "B#": 0})

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
# Blues melodies lean on the minor pentatonic with the flat five over major chords.
BLUES_SCALE = (0, 3, 5, 6, 7, 10)
PENTATONIC = {"major": (0, 2, 4, 7, 9), "minor": (0, 3, 5, 7, 10)}

QUALITIES = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "m7": (0, 3, 7, 10), "ø7": (0, 3, 6, 10),
    "add9": (0, 4, 7, 14), "madd9": (0, 3, 7, 14), "9": (0, 4, 7, 10, 14),
    "m9": (0, 3, 7, 10, 14), "sus4": (0, 5, 7), "sus2": (0, 2, 7),
}
_ROMAN = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}
_MAJOR_STEPS = SCALES["major"]
_ROMAN_RE = re.compile(r"^(b|#)?(iii|vii|ii|iv|vi|i|v)(.*)$", re.IGNORECASE)


def pitch_class(name: str) -> int:
    return _PC[name[0].upper() + name[1:]]


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class, absolute
    intervals: tuple[int, ...]

    @property
    def tones(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in self.intervals)


def parse_roman(symbol: str, tonic: int) -> Chord:
    """'bVImaj7' in a key -> Chord. Degrees count from the major scale, so
    minor-key progressions spell their flats explicitly (bIII, bVI, bVII)."""
    m = _ROMAN_RE.match(symbol)
    if not m:
        raise ValueError(f"bad chord symbol {symbol!r}")
    acc, numeral, suffix = m.groups()
    upper = numeral.isupper()
    root = (tonic + _MAJOR_STEPS[_ROMAN[numeral.lower()]] + {"b": -1, "#": 1}.get(acc, 0)) % 12
    if suffix in ("°", "dim"):
        quality = "dim"
    elif suffix in ("ø7", "ø"):
        quality = "ø7"
    elif suffix == "7":
        quality = "7" if upper else "m7"
    elif suffix == "9":
        quality = "9" if upper else "m9"
    elif suffix == "add9":
        quality = "add9" if upper else "madd9"
    elif suffix in ("maj7", "sus4", "sus2"):
        quality = suffix
    else:
        quality = "maj" if upper else "min"
    return Chord(root, QUALITIES[quality])


def progression(text: str, tonic: int) -> list[Chord]:
    return [parse_roman(s, tonic) for s in text.split()]


def scale_pitches(tonic: int, scale: tuple[int, ...], lo: int, hi: int) -> list[int]:
    """All MIDI notes of the scale within [lo, hi]."""
    pcs = {(tonic + s) % 12 for s in scale}
    return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def chord_pitches(chord: Chord, lo: int, hi: int) -> list[int]:
    pcs = set(chord.tones)
    return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def nearest(pitches: list[int], target: float) -> int:
    return min(pitches, key=lambda p: (abs(p - target), p))


def voice(chord: Chord, center: int, previous: tuple[int, ...] | None, size: int = 4) -> tuple:
    """A close voicing near ``center`` that moves as little as possible from
    the previous one, which is what keeps comping from sounding like blocks."""
    tones = [(chord.root + i) for i in chord.intervals]
    base = tones[:size] if len(tones) >= size else tones + [tones[0] + 12]
    best, best_cost = None, None
    for inversion in range(len(base)):
        notes = sorted(t + (12 if k < inversion else 0) for k, t in enumerate(base))
        for octave in range(-3, 4):
            cand = tuple(n + 12 * octave + 48 for n in notes)
            mid = sum(cand) / len(cand)
            cost = abs(mid - center) * 0.6
            if previous:
                cost += sum(min(abs(c - p) for p in previous) for c in cand) / len(cand)
            if best_cost is None or cost < best_cost:
                best, best_cost = cand, cost
    return best
