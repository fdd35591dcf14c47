"""Extend, repaint and cover for the composer: the piece is re-planned from the source's
record, never decoded from audio, and the source's own samples are spliced back.

The composer is deterministic in (plan, seed, piece key), so the source's plan,
harmony and melody are re-created exactly from its inputs. What an edit changes
is which random streams (inference.composer.engine._rng names) draw from the
source's seed and which from the edit's own:

- extend: the piece as if it had been composed ``extend_from + extend_by`` long,
  every stream the source's: same plan, voices, tempo and key, and the new bars
  follow the longer form (a returning chorus is the same motif again); it ends
  on the tonic with a short release, not a fade.
- repaint: bars snapped outward to bar lines; the harmony stream stays the
  source's (unless the prompt or genre changed); at strength >= 0.5 the melody
  does too and only the arrangement and performance are new.
- cover: the source's form, harmony and melody; instruments, groove, drums and
  room from the new prompt. ``strength`` is the share of the source's
  accompaniment parts (chords, bass, extras, in plan order) that stay, in place
  of as many of the new arrangement's (other roles first).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from inference.base import SAMPLE_RATE as SR
from inference.composer import form
from inference.composer.engine import _bars, _notes_for, _piece_key, _render, _rng
from inference.composer.master import TARGET_LUFS
from inference.composer.parts import MELODY_RANGE
from inference.composer.plan import Plan, make_plan
from inference.edit import (
    EditRequest,
    EditResult,
    boundary_windows,
    match_gain,
    segments_for,
    splice,
)
from inference.errors import EngineError

SONG = ("lyrics", "instrumental", "vocal_language", "bpm", "key", "time_signature")
ENDING_RELEASE = 0.5  # seconds: the last chord's release, so the file does not end in a click
MELODY_ROLES = ("melody",)


def _plan_of(inputs: dict, duration: int | None = None) -> Plan:
    return make_plan(inputs["prompt"], duration or int(inputs["duration"]), inputs.get("genre"),
                     **{k: inputs.get(k) for k in SONG})


def _same_piece(a: dict, b: dict) -> bool:
    keys = ("prompt", "genre", *SONG)
    return all(a.get(k) == b.get(k) for k in keys)


def _reframed(plan: Plan, source: Plan) -> Plan:
    """``plan`` in the source's tempo, key, meter and form (bars must line up)."""
    s = source.reading
    reading = replace(plan.reading, tempo=s.tempo, tonic=s.tonic, mode=s.mode,
                      spelling=s.spelling, meter=s.meter)
    return replace(plan, reading=reading, meter=source.meter, sections=source.sections,
                   vocals=plan.vocals and source.vocals)


def _streams(names_from_source, src_seed: int, src_key: int, seed: int, key: int):
    def stream(name: str) -> np.random.Generator:
        if names_from_source(name):
            return _rng(src_seed, src_key, name)
        return _rng(seed, key, name)
    return stream


def edit(req: EditRequest, progress) -> EditResult:
    src = req.source
    src_plan = _plan_of(src)
    src_key = _piece_key(src["prompt"], src.get("genre"))
    src_seed = int(src["seed"])
    if req.audio.shape[0] != int(src["duration"]) * SR:
        raise EngineError("the source's master does not match its record")
    beat = 60.0 / src_plan.reading.tempo
    fade = int(round(beat * SR))
    if req.task == "extend":
        return _extend(req, src_plan, src_seed, src_key, fade, progress)
    if req.task == "repaint":
        return _repaint(req, src_plan, src_seed, src_key, fade, progress)
    if req.task == "cover":
        return _cover(req, src_plan, src_seed, src_key, progress)
    raise EngineError(f"the composer cannot {req.task}")


def _extend(req, src_plan, src_seed, src_key, fade, progress) -> EditResult:
    src, inputs = req.source, req.inputs
    if not _same_piece({**src, "bpm": None, "key": None, "time_signature": None},
                       {**inputs, "bpm": None, "key": None, "time_signature": None}):
        raise EngineError("the composer extends a piece as it was composed: leave prompt, "
                          "genre and lyrics to the source")
    total = req.duration
    plan = _extended(src_plan, req.extend_from, total)
    new = _render(plan, src_seed, src_key, progress, fade_out=ENDING_RELEASE)
    understood = _summary(plan, req)
    cut = req.extend_from * SR
    # Level matched on the source's last seconds before the cut, clear of its fade-out.
    fade_start = int((int(src["duration"]) - min(6.0, 0.12 * int(src["duration"]))) * SR)
    end = max(min(cut, fade_start), SR)
    gain = match_gain(req.audio, new, boundary_windows(end, end, total * SR, end))
    audio = splice(req.audio, new, cut, total * SR, fade, gain=gain)
    return EditResult(audio, segments_for("extend", total, (req.extend_from, total)),
                      understood=understood)


def _extended(source: Plan, extend_from: int, total: int) -> Plan:
    """The source's plan (parts, tempo, key, meter) over ``total`` seconds: its
    sections up to the cut, then the form goes on (verse and chorus in turn,
    a chorus last) and ends with an outro."""
    r = source.reading
    bar = source.meter.beats * 60.0 / r.tempo
    n_bars = form.bar_count(total, r.tempo, source.meter.beats)
    cut = min(n_bars, math.ceil(extend_from / bar - 1e-9))
    kept = [_trimmed(s, cut - s.start_bar) for s in source.sections if s.start_bar < cut]
    unit = form.phrase_bars(source.style)
    left = n_bars - cut
    outro = left if left < 2 * unit else unit + left % unit
    middle = (left - outro) // unit
    last = kept[-1].kind if kept else "intro"
    kinds = []
    for i in range(middle):
        # the last section before the outro is a chorus; before it they alternate
        kinds.append("chorus" if (middle - i) % 2 == 1 else "verse")
    if kinds and kinds[0] == last == "chorus" and middle > 1:
        kinds[0] = "bridge"
    sections, start = list(kept), cut
    for kind in kinds:
        sections.append(form.Section(kind, start, unit))
        start += unit
    if left:
        sections.append(form.Section("outro", start, n_bars - start))
    return replace(source, duration=total, sections=tuple(sections))


def _trimmed(section: form.Section, bars: int) -> form.Section:
    """A section cut to its first ``bars`` bars, with the sung lines that fit in them."""
    if bars >= section.bars:
        return section
    fit, used = 0, 0
    for length in section.line_bars:
        if used + length > bars:
            break
        used += length
        fit += 1
    return replace(section, bars=bars, lines=section.lines[:fit],
                   line_bars=section.line_bars[:fit])


def _repaint(req, src_plan, src_seed, src_key, fade, progress) -> EditResult:
    src, inputs = req.source, req.inputs
    duration = int(src["duration"])
    bar = src_plan.meter.beats * 60.0 / src_plan.reading.tempo
    # Whole milliseconds (48 samples), so the segments name the exact samples.
    start = round(max(0.0, math.floor(req.start / bar + 1e-9) * bar), 3)
    end = round(min(float(duration), math.ceil(req.end / bar - 1e-9) * bar), 3)
    seed = int(inputs["seed"])
    same = _same_piece(src, inputs)
    plan = src_plan if same else _reframed(_plan_of({**inputs, "duration": duration}), src_plan)
    key = src_key if same else _piece_key(inputs["prompt"], inputs.get("genre"))
    keep_melody = req.strength >= 0.5

    def from_source(name: str) -> bool:
        if not same:
            return False
        return name == "form" or (keep_melody and name.endswith(":melody"))

    bars = _bars(src_plan, src_seed, src_key) if same else None
    new = _render(plan, seed, key, progress, bars=bars,
                  stream=_streams(from_source, src_seed, src_key, seed, key))
    a, b = int(round(start * SR)), int(round(end * SR))
    total = duration * SR
    gain = match_gain(req.audio, new, boundary_windows(a, b, total, total))
    audio = splice(req.audio, new, a, b, fade, gain=gain)
    snapped = {"start": start, "end": end}
    return EditResult(audio, segments_for("repaint", duration, (snapped["start"],
                                                                 snapped["end"])), snapped,
                      _summary(plan, req))


def _cover(req, src_plan, src_seed, src_key, progress) -> EditResult:
    src, inputs = req.source, req.inputs
    duration = int(src["duration"])
    seed = int(inputs["seed"])
    key = _piece_key(inputs["prompt"], inputs.get("genre"))
    plan = _reframed(_plan_of({**inputs, "duration": duration}), src_plan)
    bars = _bars(src_plan, src_seed, src_key)  # the source's harmony

    def source_notes(index: int, part) -> list:
        rng = _rng(src_seed, src_key, f"notes:{index}:{part.role}")
        return _notes_for(src_plan, part, bars, rng)

    # The source's accompaniment parts that stay (strength), then the new plan's
    # parts in the roles they leave free.
    src_acc = [(i, p) for i, p in enumerate(src_plan.parts) if p.role not in MELODY_ROLES]
    kept = src_acc[: int(round(req.strength * len(src_acc)))]
    kept_roles = {p.role for _, p in kept}
    parts, notes = [], {}
    melody = next(((i, p) for i, p in enumerate(src_plan.parts) if p.role == "melody"), None)
    new_lead = next((p for p in plan.parts if p.role == "melody"), None)
    if melody is not None:
        lead = new_lead or melody[1]
        notes[len(parts)] = _into_range(source_notes(*melody), lead.instrument)
        parts.append(lead)
    for i, part in kept:
        notes[len(parts)] = source_notes(i, part)
        parts.append(part)
    # ... as many new parts as the new arrangement has left over: the cover is
    # the new band's size, whichever parts survive (and costs what its render does)
    fresh = [p for p in plan.parts if p.role not in MELODY_ROLES and p.role not in kept_roles]
    room = sum(p.role not in MELODY_ROLES for p in plan.parts) - len(kept)
    parts += fresh[:max(0, room)]
    plan = replace(plan, parts=tuple(parts))
    new = _render(plan, seed, key, progress, bars=bars, notes=notes)
    total = duration * SR
    gain = match_gain(req.audio, new, [(0, total)])
    audio = new * np.float32(gain)
    return EditResult(audio, segments_for("cover", duration, (0.0, float(duration))),
                      understood=_summary(plan, req))


def _summary(plan: Plan, req: EditRequest) -> dict:
    out = plan.summary()
    out["loudness_lufs"] = TARGET_LUFS
    out["seed"] = int(req.inputs["seed"])
    return out


def _into_range(notes: list, instrument: str) -> list:
    """The melody moved by whole octaves into the new lead's range."""
    if not notes:
        return notes
    lo, hi = MELODY_RANGE.get(instrument, (60, 84))
    middle = float(np.median([p for _, _, p, _ in notes]))
    shift = 12 * round(((lo + hi) / 2 - middle) / 12)
    return [(s, d, p + shift, v) for s, d, p, v in notes]
