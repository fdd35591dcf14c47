"""Bass, comping and drum grooves for bars that are not in 4/4.

The genre idioms in ``parts`` and ``beats`` are written for four beats. Other
meters get a shared idiom that makes the meter audible: the bass and the kick
mark the downbeat alone, the accompaniment answers on the remaining pulses
("oom-pah-pah" in 3/4, two dotted-quarter swells in 6/8) and the timekeeper
accents each pulse over the eighths between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # form imports meter, parts imports us: only the type is needed
    from inference.composer.form import Bar

Note = tuple[float, float, int, float]
BACKBEATS = ("snare", "clap", "rim", "pedal")
TIMEKEEPERS = ("hat", "ride", "shaker")
KICKS = ("kick", "taiko")


def _pulses(bar: Bar) -> list[float]:
    """Felt beats inside the bar, in beats from its start."""
    step = bar.meter.pulse
    return [k * step for k in range(int(round(bar.beats / step)))]


def _bass_pitch(pc: int) -> int:
    root = 36 + (pc - 36) % 12
    return root - 12 if root > 43 else root


def bass(bar: Bar, style: str, rng, bars: list[Bar]) -> list[Note]:
    s, beats = bar.start, bar.beats
    root = _bass_pitch(bar.chord.root)
    fifth = root + 7 if root + 7 < 48 else root - 5
    v = 0.75 + 0.2 * bar.lift
    if style in ("pedal", "drone"):
        if bar.bar_in_section % 2 == 0 or bar.chord.root != bars[bar.index - 1].chord.root:
            return [(s, beats * (2 if bar.index + 1 < len(bars) else 1) * 0.98, root, v)]
        return []
    if style in ("eighths", "boogie"):
        out = []
        for k in range(bar.meter.eighths):
            pos = k / 2
            acc = 1.0 if pos == 0 else 0.85 if pos % bar.meter.pulse == 0 else 0.7
            out.append((s + pos, 0.42, root, v * acc))
        return out
    if style == "walking":
        pulses = _pulses(bar)
        nxt = _bass_pitch(bar.next_chord.root)
        line = [root, root + bar.chord.intervals[1], fifth][: len(pulses) - 1]
        line.append(nxt + (1 if rng.random() < 0.5 else -1))
        step = bar.meter.pulse
        return [(s + pos, step * 0.9, int(p), v * (1.0 if pos == 0 else 0.85))
                for pos, p in zip(pulses, line, strict=False)]
    # root on the downbeat alone in 3/4 (the "oom"), root-fifth on the pulses otherwise
    pulses = _pulses(bar) if bar.meter.mid else [0.0]
    length = 0.9 * (bar.meter.mid or 1.0)
    return [(s + pos, length, root if i % 2 == 0 else fifth, v * (1.0 if i == 0 else 0.85))
            for i, pos in enumerate(pulses)]


def comp(bar: Bar, style: str, voicing: tuple, v: float) -> list[Note]:
    s, beats, meter = bar.start, bar.beats, bar.meter
    if style == "pad":
        return [(s, beats, p, v * 0.8) for p in voicing]
    if style in ("alberti", "arpeggio"):
        tones = sorted(voicing)
        seq = [_bass_pitch(bar.chord.root) + 12, *tones[:3], *tones[1:3][::-1]]
        return [(s + k / 2, 0.6, seq[k % len(seq)],
                 v * (0.9 if k == 0 else 0.75 if (k / 2) % meter.pulse == 0 else 0.6))
                for k in range(meter.eighths)]
    pulses = _pulses(bar)
    if style in ("power", "shuffle") or (style == "strum" and bar.lift >= 0.6):
        hits = [k / 2 for k in range(meter.eighths)]  # driven eighths under the accents
    else:
        hits = pulses
    notes: list[Note] = []
    for i, pos in enumerate(hits):
        end = hits[i + 1] if i + 1 < len(hits) else beats
        acc = 1.0 if pos == 0 else 0.7 if pos in pulses else 0.45
        roll = 0.02 if style == "strum" else 0.0  # a strum spreads its strings
        notes += [(s + pos + k * roll, (end - pos) * 0.9, p, v * acc)
                  for k, p in enumerate(voicing)]
    return notes


def drum_pattern(pattern: dict[str, str], bar: Bar, variant: str) -> dict[str, str]:
    """A one-bar groove (sixteenth steps) for ``bar``'s meter built from the
    instruments of the genre's 4/4 ``pattern``."""
    steps = int(round(bar.beats * 4))
    if bar.meter.name == "2/4":  # two beats of the 4/4 groove are already a 2/4 groove
        return {drum: hits[:steps] for drum, hits in pattern.items()}
    pulses = [int(round(p * 4)) for p in _pulses(bar)]
    backbeat = any(d in BACKBEATS and ("o" in h or "x" in h) for d, h in pattern.items())
    out: dict[str, str] = {}
    for drum, hits in pattern.items():
        row = ["."] * steps
        if drum in KICKS:
            row[0] = "x"
            if bar.meter.mid and not backbeat:  # no snare to mark 6/8's second pulse
                for p in pulses[1:]:
                    row[p] = "o"
        elif drum in BACKBEATS:
            # the backbeat answers on the other pulses; ghosted in 3/4 so the
            # downbeat stays the strongest hit of the bar
            strong = "o" in hits or "x" in hits
            mark = "o" if bar.meter.mid and strong else "g"
            for p in pulses[1:]:
                row[p] = mark
        elif drum in TIMEKEEPERS:
            every = 2 if variant == "full" else pulses[1] if len(pulses) > 1 else 4
            for k in range(0, steps, every):
                row[k] = "x" if k == 0 else "o" if k in pulses else "g"
        else:
            continue
        out[drum] = "".join(row)
    return out
