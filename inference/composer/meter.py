"""Meters: how long a bar is and where its accents fall.

Beats are quarter notes in every meter (the DAW convention, so a tempo means
the same click whatever the meter): a 3/4 and a 6/8 bar both last three
beats, but 3/4 is felt as three quarters and 6/8 as two dotted quarters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Meter:
    name: str
    beats: float  # quarter-note beats per bar
    mid: float | None  # spacing of the secondary accents (None: only the downbeat)
    step: float  # finest position a phrase still leans on
    pulse: float = 1.0  # beats per felt beat: a dotted quarter in 6/8
    swing_ok: bool = True  # compound meters are already ternary: no swing on top

    @property
    def strong(self) -> float:
        """Spacing of the positions a melody lands on chord tones."""
        return self.mid or self.step

    @property
    def eighths(self) -> int:
        return int(round(self.beats * 2))

    def weight(self, pos: float) -> float:
        """How likely a phrase is to start a note at ``pos`` beats into its bar."""
        if pos % self.beats == 0:
            return 1.5
        if self.mid and pos % self.mid == 0:
            return 1.1
        if pos % self.step == 0:
            return 0.85
        return 0.6


METERS = {
    "2/4": Meter("2/4", 2.0, 1.0, 0.5),
    "3/4": Meter("3/4", 3.0, None, 1.0),
    "4/4": Meter("4/4", 4.0, 2.0, 1.0),
    "6/8": Meter("6/8", 3.0, 1.5, 0.5, pulse=1.5, swing_ok=False),
}
COMMON = METERS["4/4"]

# Dances and forms whose meter is part of their name.
METER_WORDS = {
    "3/4": ("waltz", "waltzes", "minuet", "mazurka", "ländler", "laendler"),
    "6/8": ("jig", "tarantella", "barcarolle", "siciliano", "sicilienne"),
    "2/4": ("march", "polka", "two-step"),
}
_WRITTEN = re.compile(r"(?<![\d/.])([2346])\s*/\s*([48])(?![\d/])")


def meter_in_text(text: str) -> str | None:
    """'a waltz' -> '3/4', 'in 6/8 time' -> '6/8'; None when the text names no meter."""
    for m in _WRITTEN.finditer(text):
        name = f"{m.group(1)}/{m.group(2)}"
        if name in METERS:
            return name
    for name, words in METER_WORDS.items():
        if any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text) for w in words):
            return name
    return None
