"""Pitched parts: melody, bass lines, chord comping and arpeggios.

Every generator returns notes as ``(start_beat, length_beats, midi, velocity)``;
timing feel (swing, humanising) is applied later, when beats become samples.
"""

from __future__ import annotations

import numpy as np

from inference.composer import odd
from inference.composer.form import Bar
from inference.composer.meter import Meter
from inference.composer.theory import (
    BLUES_SCALE,
    PENTATONIC,
    SCALES,
    chord_pitches,
    nearest,
    scale_pitches,
    voice,
)

Note = tuple[float, float, int, float]

MELODY_RANGE = {
    "saxophone": (53, 80), "flute": (67, 93), "harmonica": (60, 84), "violin": (62, 88),
    "synth lead": (62, 86), "lead guitar": (57, 84), "brass": (55, 79), "bells": (72, 96),
    "piano": (62, 86), "electric guitar": (57, 81), "electric piano": (60, 84),
    "strings": (62, 86), "organ": (60, 84), "acoustic guitar": (57, 81), "pad": (60, 84),
    "arp": (64, 88), "distorted guitar": (52, 76),
}
CHORD_CENTER = {"distorted guitar": 47, "acoustic guitar": 55, "electric guitar": 57,
                "brass": 58, "strings": 62, "pad": 60, "organ": 60, "bells": 74}


def melody_scale(genre: str, mode: str) -> tuple[int, ...]:
    if genre == "blues":
        return BLUES_SCALE
    if genre in ("ambient", "rock", "folk"):
        return PENTATONIC["minor" if mode == "minor" else "major"]
    return SCALES.get(mode, SCALES["major"])


def _motif(rng, grid: float, density: float, meter: Meter,
           bars: int = 2) -> list[tuple[float, int]]:
    """Onsets (in beats from the motif start) and scale-step moves."""
    slots = int(round(meter.beats / grid)) * bars
    onsets = []
    for s in range(slots):
        pos = s * grid
        if s == 0 or rng.random() < density * meter.weight(pos % meter.beats):
            onsets.append(pos)
    steps = rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 2, 3, 4], size=len(onsets))
    return list(zip(onsets, steps.tolist(), strict=True))


def phrases(bars: list[Bar]) -> list[list[Bar]]:
    """Four-bar phrases that start with their section (and after any gap)."""
    out: list[list[Bar]] = []
    for bar in bars:
        if not out or bar.bar_in_section % 4 == 0 or bar.index != out[-1][-1].index + 1:
            out.append([bar])
        else:
            out[-1].append(bar)
    return out


def melody(bars: list[Bar], genre: str, mode: str, tonic: int, inst: str, grid: float,
           density: float, rng, active=("verse", "chorus", "bridge"),
           skip_sung: bool = False) -> list[Note]:
    lo, hi = MELODY_RANGE.get(inst, (60, 84))
    pitches = scale_pitches(tonic, melody_scale(genre, mode), lo, hi)
    scale_pcs = {p % 12 for p in pitches}
    motifs: dict[str, list] = {}
    notes: list[Note] = []
    prev = (lo + hi) / 2
    for phrase in phrases(bars):
        kind = phrase[0].section
        if kind not in active or (skip_sung and phrase[0].sung):
            continue  # a singer has these bars
        meter = phrase[0].meter
        beats = meter.beats
        step = 1.5 if grid == 1.0 and meter.mid == 1.5 else grid  # 6/8 walks in dotted quarters
        lift = 1.0 if kind == "chorus" else 0.0
        dens = min(0.95, density * (1.25 if kind == "chorus" else 1.0))
        if kind not in motifs:
            motifs[kind] = _motif(rng, step, dens, meter)
        motif = motifs[kind]
        answer = _motif(rng, step, dens, meter, 1)
        # call (two bars), the call's first bar again, then a fresh answer
        seq = (motif + [(on + 2 * beats, st) for on, st in motif if on < beats]
               + [(on + 3 * beats, st) for on, st in answer])
        anchor = lo + (hi - lo) * (0.45 + 0.2 * lift)
        idx = pitches.index(nearest(pitches, (prev + anchor) / 2))
        for j, (on, move) in enumerate(seq):
            bar_i = int(on // beats)
            if bar_i >= len(phrase):
                break
            bar = phrase[bar_i]
            nxt = seq[j + 1][0] if j + 1 < len(seq) else len(phrase) * beats
            length = max(step, min(nxt - on, 3.0))
            idx = int(np.clip(idx + move, 0, len(pitches) - 1))
            pitch = pitches[idx]
            if on % meter.strong == 0 or j == len(seq) - 1:  # strong beats sit on chord tones
                tones = chord_pitches(bar.chord, lo, hi) or pitches
                pitch = nearest(tones, pitch)
                idx = pitches.index(nearest(pitches, pitch))
            elif genre != "blues":  # blues wants its blue-note rubs; others do not
                pitch = _avoid_rub(pitch, bar.chord, scale_pcs)
            if pitch > hi - 2 and move > 0:
                idx = max(0, idx - 4)
            accent = 0.08 if on % beats == 0 else 0
            vel = (0.62 + 0.28 * bar.lift + accent) * rng.uniform(0.9, 1.05)
            legato = 0.95 if genre in ("ambient", "cinematic", "classical") else 0.85
            notes.append((bar.start + on % beats, length * legato, pitch, float(vel)))
            prev = pitch
    return notes


def _avoid_rub(pitch: int, chord, scale_pcs: set[int]) -> int:
    """A scale tone a semitone from a chromatic chord tone (G over E7 in A minor)
    clashes; take the chord tone instead."""
    for tone in chord.tones:
        if tone not in scale_pcs and (pitch - tone) % 12 in (1, 11):
            return pitch + (1 if (pitch - tone) % 12 == 11 else -1)
    return pitch


def bass(bars: list[Bar], style: str, rng) -> list[Note]:
    notes: list[Note] = []
    for bar in bars:
        if bar.meter.name != "4/4":
            notes += odd.bass(bar, style, rng, bars)
            continue
        root = 36 + (bar.chord.root - 36) % 12  # C2..B2
        if root > 43:
            root -= 12
        fifth = root + 7
        third = root + bar.chord.intervals[1]
        seventh = root + (bar.chord.intervals[3] if len(bar.chord.intervals) > 3 else 10)
        nxt = 36 + (bar.next_chord.root - 36) % 12
        nxt = nxt - 12 if nxt > 43 else nxt
        v = 0.75 + 0.2 * bar.lift
        s = bar.start
        if style == "eighths":
            for k in range(8):
                p = root if k < 7 or bar.lift < 0.6 else (fifth if rng.random() < .5 else root + 12)
                notes.append((s + k / 2, 0.42, p, v * (1.0 if k % 2 == 0 else 0.85)))
        elif style == "pop":
            third_beat = fifth if rng.random() < .4 else root
            pat = [(0, 1.4, root), (1.5, 0.45, root), (2, 0.9, third_beat),
                   (3, 0.45, root + 12 if rng.random() < .3 else root), (3.5, 0.45, root)]
            notes += [(s + o, d, p, v) for o, d, p in pat]
        elif style == "walking":
            tones = [root, rng.choice([third, fifth]), rng.choice([fifth, seventh, root + 12])]
            approach = nxt + (1 if rng.random() < .5 else -1)
            for k, p in enumerate([*tones, approach]):
                notes.append((s + k, 0.9, int(p), v * (1.0 if k % 2 == 0 else 0.9)))
        elif style == "pump":
            for k in range(4):
                notes.append((s + k + 0.5, 0.4, root, v))
                if bar.lift >= 0.7 and k % 2 == 1:
                    notes.append((s + k + 0.75, 0.2, root + 12, v * 0.7))
        elif style == "sub":
            notes.append((s, 2.3, root, v))
            notes.append((s + 2.5, 1.3, rng.choice([root, fifth, root - 2]), v * 0.85))
        elif style == "rootfifth":
            notes.append((s, 1.8, root, v))
            notes.append((s + 2, 1.8, fifth if fifth < 48 else fifth - 12, v * 0.9))
        elif style == "boogie":
            line = [root, third, fifth, root + 9, root + 10, root + 9, fifth, third]
            notes += [(s + k / 2, 0.45, p, v * (1.0 if k % 2 == 0 else 0.8))
                      for k, p in enumerate(line)]
        elif style in ("pedal", "drone"):
            if bar.bar_in_section % 2 == 0 or bar.chord.root != bars[bar.index - 1].chord.root:
                notes.append((s, 4.0 * (2 if bar.index + 1 < len(bars) else 1) * 0.98, root, v))
    return notes


def comp(bars: list[Bar], style: str, inst: str, rng) -> list[Note]:
    """Chord accompaniment in the style's idiom."""
    notes: list[Note] = []
    prev = None
    center = CHORD_CENTER.get(inst, 60)
    for bar in bars:
        s, v, ch = bar.start, 0.5 + 0.3 * bar.lift, bar.chord
        size = 3 if style == "jazz" else 4
        voicing = voice(ch, center, prev, size)
        prev = voicing
        if bar.meter.name != "4/4":
            notes += odd.comp(bar, style, voicing, v)
            continue
        if style == "pad":
            notes += [(s, 4.0, p, v * 0.8) for p in voicing]
        elif style == "block":
            hits = [(0, 1.4), (1.5, 1.0), (2.5, 1.4)] if bar.lift >= .7 else [(0, 1.9), (2, 1.9)]
            for o, d in hits:
                notes += [(s + o, d, p, v * (1 if o == 0 else .85)) for p in voicing]
            notes.append((s, 3.8, 36 + (ch.root - 36) % 12, v * 0.8))
        elif style == "alberti":
            low = 36 + (ch.root - 36) % 12
            tones = sorted(voice(ch, 52, None, 3))
            seq = [low, tones[2], tones[1], tones[2]] * 2
            notes += [(s + k / 2, 0.6, p, v * (0.9 if k % 4 == 0 else 0.7))
                      for k, p in enumerate(seq)]
        elif style == "strum":
            shape = _guitar_shape(ch)
            pattern = [(0, "d"), (1, "d"), (1.5, "u"), (2.5, "u"), (3, "d"), (3.5, "u")]
            if bar.lift < 0.6:
                pattern = [(0, "d"), (2, "d"), (3, "u")]
            for o, direction in pattern:
                order = shape if direction == "d" else shape[::-1]
                vel = v * (1.0 if direction == "d" else 0.7) * rng.uniform(0.9, 1.05)
                for k, p in enumerate(order):
                    notes.append((s + o + k * 0.025, 0.95, p, vel))
        elif style == "power":
            root = 40 + (ch.root - 40) % 12
            chord = (root, root + 7, root + 12)
            if bar.lift >= 0.9 or bar.section == "intro":
                for o in (0, 2):
                    notes += [(s + o, 1.9, p, v) for p in chord]
            else:
                for k in range(8):
                    notes += [(s + k / 2, 0.3, p, v * (1.0 if k % 2 == 0 else 0.8)) for p in chord]
        elif style == "jazz":
            rhythm = [(0, 0.7), (1.5, 0.4)] if rng.random() < 0.6 else [(0.5, 0.4), (2.5, 1.2)]
            if rng.random() < 0.4:
                rhythm.append((3.5, 0.4))
            for o, d in rhythm:
                notes += [(s + o, d, p, v * rng.uniform(0.7, 0.95)) for p in voicing]
        elif style == "stab":
            offs = [0.5, 1.5, 2.5, 3.5] if bar.lift >= 0.7 else [0, 2.5]
            for o in offs:
                notes += [(s + o, 0.3 if bar.lift >= 0.7 else 1.2, p, v * 0.75) for p in voicing]
        elif style == "lofi":
            notes += [(s, 2.3, p, v) for p in voicing]
            if rng.random() < 0.6:
                notes += [(s + 2.5, 1.4, p, v * 0.8) for p in voicing]
        elif style == "shuffle":
            root = 40 + (ch.root - 40) % 12
            for k in range(8):
                top = root + (7 if k % 4 < 2 else 9)
                notes += [(s + k / 2, 0.4, p, v * (1 if k % 2 == 0 else .75)) for p in (root, top)]
        elif style == "arpeggio":
            tones = sorted(voicing) + [voicing[0] + 12]
            seq = tones + tones[-2:0:-1]
            notes += [(s + k / 2, 0.9, seq[k % len(seq)], v * 0.7) for k in range(8)]
    if style == "pad":
        notes = _tie(notes)
    return notes


def _tie(notes: list[Note]) -> list[Note]:
    """Join a held pitch that is struck again right where it ends: a pad holds
    through bars of the same chord instead of re-attacking each bar."""
    held: dict[int, int] = {}
    out: list[Note] = []
    for s, d, p, v in sorted(notes):
        j = held.get(p)
        if j is not None and abs(out[j][0] + out[j][1] - s) < 1e-6:
            out[j] = (out[j][0], out[j][1] + d, p, out[j][3])
            continue
        held[p] = len(out)
        out.append((s, d, p, v))
    return out


def _guitar_shape(ch) -> list[int]:
    """Six-string-like spread voicing: root low, then chord tones up to ~E4."""
    root = 40 + (ch.root - 40) % 12
    out = [root]
    for p in chord_pitches(ch, root + 5, root + 24):
        if p - out[-1] >= 3 and len(out) < 6:
            out.append(p)
    return out


def arpeggio(bars: list[Bar], rng, lo: int = 60) -> list[Note]:
    notes: list[Note] = []
    pattern = rng.choice([0, 1, 2])
    for bar in bars:
        tones = chord_pitches(bar.chord, lo, lo + 19)
        if pattern == 1:
            tones = tones + tones[-2:0:-1]
        elif pattern == 2:
            tones = [tones[i] for i in (0, 2, 1, 3, 2, 4) if i < len(tones)]
        for k in range(int(round(bar.beats * 4))):
            acc = 1.0 if k / 4 % bar.meter.pulse == 0 else 0.75
            vel = (0.45 + 0.3 * bar.lift) * acc
            notes.append((bar.start + k / 4, 0.22, tones[k % len(tones)], vel))
    return notes
