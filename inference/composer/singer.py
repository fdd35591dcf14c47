"""The sung melody: one note per syllable, on the meter's grid, over the chords.

A line's notes depend only on where it sits (section kind, line number,
bar offset), how many syllables and bars it has, and the seed, never on its
words: a chorus that returns, or a second verse of the same shape, is sung
to the same tune.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inference.composer.form import Bar, Section
from inference.composer.lyrics import Syllable, syllables
from inference.composer.theory import SCALES, chord_pitches, nearest, scale_pitches

RANGE = (57, 74)  # A3..D5: where a formant voice still sounds like one
# Where in the range each section's lines start: choruses sit higher than verses.
HEIGHT = {"chorus": 0.62, "pre-chorus": 0.5, "bridge": 0.55, "verse": 0.35}


@dataclass(frozen=True)
class SungNote:
    start: float  # beats
    length: float  # beats
    pitch: int  # MIDI
    velocity: float
    vowel: str
    onset: str  # consonant class before the vowel (see lyrics.Syllable)


def sing(sections: tuple[Section, ...], bars: list[Bar], mode: str, tonic: int,
         language: str | None, rng_for: Callable[[str], np.random.Generator]) -> list[SungNote]:
    pitches = scale_pitches(tonic, SCALES[mode], *RANGE)
    notes: list[SungNote] = []
    for sec in sections:
        first = sec.start_bar
        for i, (line, size) in enumerate(zip(sec.lines, sec.line_bars, strict=True)):
            line_bars = bars[first:first + size]
            if not line_bars:
                break
            sylls = syllables(line, language)
            rng = rng_for(f"sing:{sec.kind}:{i}:{len(sylls)}:{size}:{first - sec.start_bar}")
            notes += _line(sylls, line_bars, pitches, HEIGHT.get(sec.kind, 0.4), rng)
            first += size
    return notes


def _rhythm(n: int, bars: list[Bar]) -> tuple[list[float], list[float]]:
    """Onsets and lengths (beats from the line's start): the largest grid step
    that leaves a fifth of the line to breathe, the last syllable held on."""
    meter = bars[0].meter
    span = len(bars) * meter.beats
    room = 0.8 * span
    steps = (1.5, 0.5, 0.25) if meter.mid == 1.5 else (1.0, 0.5, 0.25)
    step = next((s for s in steps if n * s <= room), room / n)
    onsets = [k * step for k in range(n)]
    lengths = [step] * n
    lengths[-1] = max(step, min(2.0, 0.9 * span - onsets[-1]))
    return onsets, lengths


def _line(sylls: list[Syllable], bars: list[Bar], pitches: list[int], height: float,
          rng) -> list[SungNote]:
    if not sylls:
        return []
    lo, hi = RANGE
    meter = bars[0].meter
    onsets, lengths = _rhythm(len(sylls), bars)
    idx = pitches.index(nearest(pitches, lo + (hi - lo) * height))
    peak = int(len(sylls) * rng.uniform(0.35, 0.7))  # the line rises to here, then falls
    out = []
    for j, (syl, on, length) in enumerate(zip(sylls, onsets, lengths, strict=True)):
        if j:
            move = int(rng.choice([0, 1, 1, 2])) if rng.random() < 0.7 else int(
                rng.choice([-1, 1]))
            idx = int(np.clip(idx + (move if j <= peak else -move), 0, len(pitches) - 1))
        pitch = pitches[idx]
        bar = bars[min(int(on // meter.beats), len(bars) - 1)]
        strong = on % meter.strong == 0
        if strong or j == len(sylls) - 1:  # stressed beats and line ends sit on chord tones
            pitch = nearest(chord_pitches(bar.chord, lo, hi) or pitches, pitch)
            idx = pitches.index(nearest(pitches, pitch))
        vel = (0.8 + (0.12 if strong else 0.0)) * rng.uniform(0.93, 1.0)
        out.append(SungNote(bars[0].start + on, length, int(pitch), float(vel), syl.vowel,
                            syl.onset))
    return out
