"""Form: sections over the whole duration and the chord of every bar."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from inference.composer.meter import COMMON, Meter
from inference.composer.styles import Style
from inference.composer.theory import Chord, parse_roman, progression

BEATS_PER_BAR = 4
# How loud/busy each section kind is, relative to the piece's own energy.
SECTION_LIFT = {"intro": 0.45, "verse": 0.7, "chorus": 1.0, "bridge": 0.55, "outro": 0.45,
                "pre-chorus": 0.8, "instrumental": 0.9}


@dataclass(frozen=True)
class Section:
    kind: str
    start_bar: int
    bars: int
    lines: tuple[str, ...] = ()  # sung lines, in order
    line_bars: tuple[int, ...] = ()  # bars each line takes, from the section's start


@dataclass(frozen=True)
class Bar:
    index: int
    chord: Chord
    next_chord: Chord
    section: str
    bar_in_section: int
    section_bars: int
    lift: float
    meter: Meter = COMMON
    sung: bool = False

    @property
    def beats(self) -> float:
        return self.meter.beats

    @property
    def start(self) -> float:  # in beats
        return float(self.index * self.meter.beats)

    @property
    def last_of_section(self) -> bool:
        return self.bar_in_section == self.section_bars - 1


def phrase_bars(style: Style) -> int:
    return 12 if style.name == "blues" else 4 * style.bars_per_chord


def bar_count(duration: float, tempo: float, beats: float = BEATS_PER_BAR) -> int:
    return max(1, math.ceil(duration * tempo / 60.0 / beats - 1e-9))


def sections(n_bars: int, unit: int) -> list[Section]:
    """Split the piece into intro / verses / choruses / bridge / outro.

    Only the bar count and the phrase length decide the form, so the form is
    known before any random choice is made."""
    units = n_bars // unit
    shapes = {
        0: ["verse"], 1: ["verse"], 2: ["intro", "chorus"], 3: ["intro", "verse", "chorus"],
        4: ["intro", "verse", "chorus", "outro"],
        5: ["intro", "verse", "chorus", "verse", "outro"],
        6: ["intro", "verse", "chorus", "bridge", "chorus", "outro"],
        7: ["intro", "verse", "chorus", "verse", "bridge", "chorus", "outro"],
    }
    if units in shapes:
        kinds = shapes[units]
    else:
        middle = ["verse", "chorus"] * ((units - 5) // 2)
        if (units - 5) % 2:
            middle.append("chorus")
        kinds = ["intro", *middle, "bridge", "chorus", "chorus", "outro"][:units]
        kinds[-1] = "outro"
    out, bar = [], 0
    for i, kind in enumerate(kinds):
        length = unit if units else n_bars
        if i == len(kinds) - 1:
            length = n_bars - bar
        out.append(Section(kind, bar, length))
        bar += length
    return out


def choose_progressions(style: Style, mode: str, tonic: int, rng: np.random.Generator,
                        tonal: bool = False) -> dict:
    """Verse, chorus and bridge progressions; contrast comes from picking different ones.

    ``tonal``: a key was asked for, so only progressions that start on the
    tonic chord of that mode (they state the key at every section start)."""
    options = list(style.progressions.get(mode) or style.progressions["major"])
    if tonal:
        home = "i" if mode == "minor" else "I"
        options = [p for p in options if re.match(rf"{home}(?![iIvV])", p)] or options
        if mode == "minor":
            options = [_dominant_ending(p) for p in options]
    order = rng.permutation(len(options))
    pick = [options[i] for i in order]
    verse = pick[0]
    chorus = pick[1] if len(pick) > 1 else pick[0]
    bridge = pick[2] if len(pick) > 2 else " ".join(reversed(chorus.split()))
    table = {"verse": verse, "chorus": chorus, "bridge": bridge, "intro": verse, "outro": verse,
             "pre-chorus": bridge, "instrumental": chorus}
    return {k: progression(v, tonic) for k, v in table.items()}


def _dominant_ending(prog: str) -> str:
    """End a minor progression on the major V: its leading tone is what tells
    a minor key from its relative major (i bVI bIII bVII is both)."""
    chords = prog.split()
    if any(re.fullmatch(r"V[79]?", c) for c in chords):
        return prog
    return " ".join([*chords[:-1], "V7" if "7" in chords[-1] else "V"])


def bars(style: Style, mode: str, tonic: int, form: list[Section], rng,
         meter: Meter = COMMON, tonal: bool = False) -> list[Bar]:
    progs = choose_progressions(style, mode, tonic, rng, tonal)
    tonic_chord = parse_roman("i" if mode == "minor" else "I", tonic)
    per = style.bars_per_chord
    chords: list[tuple[Chord, Section, int]] = []
    for sec in form:
        prog = progs[sec.kind]
        for b in range(sec.bars):
            chords.append((prog[(b // per) % len(prog)], sec, b))
    last_sec = chords[-1][1]
    # land the piece on the tonic, unless a voice is still singing there: a
    # returning chorus keeps the chords its melody was written over
    if len(chords) > 2 and not last_sec.lines:
        chords[-1] = (tonic_chord, last_sec, chords[-1][2])
    out = []
    for i, (chord, sec, b) in enumerate(chords):
        nxt = chords[i + 1][0] if i + 1 < len(chords) else tonic_chord
        out.append(Bar(i, chord, nxt, sec.kind, b, sec.bars, SECTION_LIFT[sec.kind], meter,
                       bool(sec.lines)))
    return out
