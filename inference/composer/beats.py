"""Drum patterns per genre, with section-aware variation and fills.

A pattern is one bar of sixteenths per drum: ``x`` accent, ``o`` normal,
``g`` ghost, ``.`` rest. Jazz/blues patterns are written straight and swung
later together with everything else.
"""

from __future__ import annotations

from inference.composer import odd
from inference.composer.form import Bar

Hit = tuple[float, str, float]
_LEVEL = {"x": 1.0, "o": 0.75, "g": 0.32}

PATTERNS: dict[str, dict[str, dict[str, str]]] = {
    "rock": {
        "full": {"kick": "x.....x.x.o.....", "snare": "....x.......x...",
                 "hat": "x.o.x.o.x.o.x.o."},
        "light": {"kick": "x.......x.......", "snare": "....o.......o...",
                  "hat": "o.g.o.g.o.g.o.g."},
    },
    "pop": {
        "full": {"kick": "x.....x.x.......", "clap": "....x.......x...",
                 "hat": "o.o.o.o.o.o.o.o.", "shaker": "gggggggggggggggg"},
        "light": {"kick": "x.......x.......", "snare": "....o.......o...",
                  "hat": "o...o...o...o..."},
    },
    "techno": {
        "full": {"kick": "x...x...x...x...", "clap": "....x.......x...",
                 "hat": "gog.gog.gog.gog.", "open": "..o...o...o...o."},
        "light": {"kick": "x...x...x...x...", "hat": "..o...o...o...o."},
        "break": {"hat": "..g...g...g...g.", "clap": "............o..."},
    },
    "lofi": {
        "full": {"kick": "x......o..x.....", "snare": "....x.......x..g",
                 "hat": "o.g.o.g.o.g.o.go"},
        "light": {"kick": "x.........x.....", "snare": "....o.......o...",
                  "hat": "o...o...o...o..."},
    },
    "jazz": {
        "full": {"ride": "o...x.g.o...x.g.", "pedal": "....o.......o...",
                 "kick": "g...g...g...g...", "snare": "......g.......g."},
        "light": {"ride": "o...o.g.o...o.g.", "pedal": "....o.......o..."},
    },
    "shuffle": {
        "full": {"kick": "x.......x.......", "snare": "....x.......x...",
                 "hat": "o.go.go.o.go.go."},
        "light": {"kick": "x.......o.......", "hat": "o.g.o.g.o.g.o.g."},
    },
    "folk": {
        "full": {"kick": "x.......x.......", "snare": "....o.......o...",
                 "shaker": "o.g.o.g.o.g.o.g."},
        "light": {"kick": "x.......o.......", "shaker": "o.g.o.g.o.g.o.g."},
    },
    "cinematic": {
        "full": {"taiko": "x..o..o.x...o.o.", "tom": "........o.o.....",
                 "snare": "....g.......g..."},
        "light": {"taiko": "x.......o......."},
    },
    "soft": {
        "full": {"kick": "x.......o.......", "rim": "....o.......o...",
                 "shaker": "g.g.g.g.g.g.g.g."},
        "light": {"kick": "x...............", "shaker": "g...g...g...g..."},
    },
}


_TURN = {"rock": [(3.5, "kick", 0.7), (3.75, "snare", 0.4)],
         "pop": [(3.5, "open", 0.6), (3.75, "kick", 0.6)],
         "lofi": [(3.25, "kick", 0.5), (3.75, "snare", 0.3)],
         "techno": [(3.5, "open", 0.7)], "shuffle": [(3.5, "snare", 0.45)]}


# Sections whose first downbeat gets a crash.
CRASH_INTO = ("chorus", "verse", "pre-chorus", "instrumental")


def _variant(style: str, bar: Bar) -> str | None:
    if bar.section == "intro":
        # electronic intros keep the kick so DJs (and tempo trackers) lock on
        return "light" if style in ("techno", "cinematic", "jazz", "shuffle") else None
    if bar.section == "outro":
        return "light" if bar.bar_in_section < bar.section_bars - 1 else None
    if bar.section == "bridge":  # techno breaks down: the kick drops out
        return "break" if style == "techno" else "light"
    return "full" if bar.lift >= 0.7 else "light"


def drums(bars: list[Bar], style: str, energy: float, rng) -> list[Hit]:
    hits: list[Hit] = []
    for bar in bars:
        variant = _variant(style, bar)
        if variant is None:
            if bar.section == "intro" and bar.last_of_section and style != "cinematic":
                hits += _fill(bar, style, 0.6)
            continue
        pattern = PATTERNS[style][variant]
        if bar.meter.name != "4/4":
            pattern = odd.drum_pattern(pattern, bar, variant)
        last = bar.beats - 1  # where the bar's last beat starts
        fill = bar.last_of_section and bar.section_bars >= 4 and style != "techno"
        for drum, steps in pattern.items():
            for k, ch in enumerate(steps):
                if ch == "." or (fill and k >= 4 * last and drum != "kick"):
                    continue
                vel = _LEVEL[ch] * (0.7 + 0.3 * energy) * rng.uniform(0.88, 1.0)
                if ch == "g" and rng.random() < 0.25:  # ghost notes come and go
                    continue
                hits.append((bar.start + k / 4, drum, vel))
        if bar.bar_in_section == 0 and bar.section in CRASH_INTO and bar.index > 0:
            crash = "ride" if style == "jazz" else "crash"
            if style not in ("lofi", "folk", "soft"):
                hits.append((bar.start, crash, 0.8))
        if fill:
            hits += _fill(bar, style, 0.85)
        elif bar.bar_in_section % 4 == 3 and variant == "full" and style in _TURN:
            # a small push into the next phrase so four-bar loops do not sound pasted
            hits += [(bar.start + at + (last - 3), drum, vel) for at, drum, vel in _TURN[style]]
        if style == "techno" and bar.last_of_section and bar.section in ("intro", "bridge"):
            hits.append((bar.start, "riser", 0.8))
        if style == "techno" and bar.lift >= 0.9 and bar.last_of_section:
            hits += [(bar.start + last + k / 4, "clap", 0.4 + 0.15 * k) for k in range(4)]
    return hits


def _fill(bar: Bar, style: str, level: float) -> list[Hit]:
    s = bar.start + bar.beats - 1
    if style == "cinematic":
        return [(s + k / 4, "taiko", level * (0.6 + 0.1 * k)) for k in range(4)]
    if style in ("jazz", "lofi", "soft", "folk"):
        return [(s + 0.5, "snare", level * 0.5), (s + 0.75, "snare", level * 0.6)]
    drums = ["snare", "snare", "tom", "tom"] if style == "rock" else ["snare"] * 4
    return [(s + k / 4, d, level * (0.7 + 0.1 * k)) for k, d in enumerate(drums)]
