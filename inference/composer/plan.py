"""The plan: which instrument plays which role, and the form over time.

A plan depends on (prompt, genre, duration) only. The seed then chooses the
progressions, motifs and grooves inside it, so ``understand()`` is exact
whether or not a seed is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from inference.composer import form
from inference.composer.lyrics import lyric_form, syllables
from inference.composer.meter import COMMON, METERS, Meter
from inference.composer.prompt import Reading, read_prompt
from inference.composer.styles import STYLES, Style
from inference.contract import key_parts, lyric_sections

MELODY_FIRST = ("saxophone", "flute", "harmonica", "synth lead", "lead guitar", "violin",
                "bells", "brass")
SUSTAINED = ("pad", "strings", "organ", "brass", "low strings")
GUITARS = ("acoustic guitar", "electric guitar", "distorted guitar")
BASSES = ("bass", "synth bass")
# A gentler lead when the prompt asks for calm and names none.
CALM_MELODY = {"cinematic": "violin", "rock": "electric guitar", "pop": "electric piano",
               "electronic": "bells"}
# Roles that only play in some sections (see engine._notes_for).
ROLE_SECTIONS = {"answer": {"chorus"}, "sparkle": {"chorus", "bridge"}}
_GENRE_GUITAR = {"rock": "distorted guitar", "blues": "electric guitar",
                 "jazz": "electric guitar", "lofi": "electric guitar"}
# What ``understood`` may spend on lyric lines (JSON bytes), so it stays small.
LINE_CHARS = 60
LINES_BUDGET = 1800


@dataclass(frozen=True)
class Part:
    instrument: str
    role: str  # chords | melody | bass | answer | layer | broken | sparkle | arp | drone
    style: str  # comp / bass style where it applies


@dataclass(frozen=True)
class Plan:
    reading: Reading
    style: Style
    duration: int
    parts: tuple[Part, ...]
    drums: str | None
    sections: tuple[form.Section, ...]
    meter: Meter = COMMON
    vocals: bool = False
    language: str | None = None
    # where tempo, key, time_signature and form came from: request | prompt | composer | lyrics
    sources: dict = field(default_factory=dict)
    lines_dropped: int = 0

    @property
    def swing(self) -> float:
        return self.style.swing if self.meter.swing_ok else 0.0

    @property
    def instruments(self) -> list[str]:
        seen: list[str] = []
        for p in self.parts:
            if p.instrument not in seen:
                seen.append(p.instrument)
        return seen + (["drums"] if self.drums else []) + (["voice"] if self.vocals else [])

    def summary(self) -> dict:
        r = self.reading
        bar = self.meter.beats * 60.0 / r.tempo
        budget = [LINES_BUDGET]
        sections = []
        for s in self.sections:
            sung = self.vocals and bool(s.lines)
            sections.append({
                "name": s.kind, "start": round(float(min(s.start_bar * bar, self.duration)), 3),
                "end": round(float(min((s.start_bar + s.bars) * bar, self.duration)), 3),
                "bars": s.bars, "line_count": len(s.lines) if sung else 0,
                "lines": _shown(s.lines, budget) if sung else [],
                "syllables": sum(len(syllables(x, self.language)) for x in s.lines) if sung else 0,
            })
        return {
            "genre": r.genre, "key": r.key, "mode": r.mode, "tempo": r.tempo,
            "time_signature": self.meter.name, "energy": r.energy,
            "instruments": self.instruments, "ambience": list(r.ambience),
            "drums": self.drums, "swing": self.swing, "sections": sections,
            "vocals": self.vocals, "vocal_language": self.language,
            "syllables": sum(x["syllables"] for x in sections),
            "lines_dropped": self.lines_dropped, "sources": dict(self.sources),
            "duration": self.duration,
        }


def _shown(lines: tuple[str, ...], budget: list[int]) -> list[str]:
    """Lines as ``understood`` shows them: long ones cut, and none once the
    budget is spent (``line_count`` still says how many there are)."""
    out = []
    for line in lines:
        text = line if len(line) <= LINE_CHARS else line[:LINE_CHARS - 1].rstrip() + "…"
        cost = len(json.dumps(text)) + 2
        if cost > budget[0]:
            break
        budget[0] -= cost
        out.append(text)
    return out


def comp_style(inst: str, style: Style) -> str:
    cs = style.comp_style
    if inst in SUSTAINED:
        return "pad"
    if inst == "distorted guitar":
        return "power"
    if inst in GUITARS:
        return cs if cs in ("strum", "shuffle", "jazz", "lofi", "alberti") else "strum"
    return "block" if cs in ("power", "strum", "shuffle", "pad") else cs


def _apply_request(r: Reading, bpm, key, time_signature) -> tuple[Reading, dict]:
    """Request fields win over what the prompt said; note where each came from."""
    sources = {name: "prompt" if name in r.stated else "composer"
               for name in ("tempo", "key", "time_signature")}
    changes: dict = {}
    if bpm is not None:
        changes["tempo"] = float(bpm)
    if key is not None:
        tonic, mode = key_parts(key)
        changes.update(tonic=tonic, mode=mode, spelling=key.split(" ")[0])
    if time_signature is not None:
        changes["meter"] = time_signature
    for name, given in (("tempo", bpm), ("key", key), ("time_signature", time_signature)):
        if given is not None:
            sources[name] = "request"
    return (replace(r, **changes) if changes else r), sources


def make_plan(prompt: str, duration: int, genre: str | None = None, *, lyrics=None,
              instrumental=None, vocal_language=None, bpm=None, key=None,
              time_signature=None) -> Plan:
    r, sources = _apply_request(read_prompt(prompt, genre), bpm, key, time_signature)
    style = STYLES[r.genre]
    named = [_GENRE_GUITAR.get(r.genre, "acoustic guitar") if i == "guitar" else i
             for i in r.named]
    named = [i for i in dict.fromkeys(named) if i not in r.excluded]
    if r.genre == "electronic":
        named = ["synth bass" if i == "bass" else i for i in named]
    quiet = r.calm and r.energy < 0.3 and style.name in ("folk", "pop", "cinematic")
    want_drums = "drums" in named or (
        style.drums is not None and "drums" not in r.excluded and not quiet
        and (style.name != "cinematic" or r.energy >= 0.7 or r.epic))
    # an asked-for tempo or meter is kept audible: a kit unless drums were refused
    asked = bpm is not None or time_signature is not None
    want_drums = want_drums or (asked and "drums" not in r.excluded)
    drums = (style.drums or "soft") if want_drums else None
    tonal = [i for i in named if i != "drums"]

    bass = next((i for i in tonal if i in BASSES), None)
    if bass is None and not any(i in r.excluded for i in BASSES):
        bass = style.bass
    chord_cands = [i for i in tonal if i not in MELODY_FIRST and i not in BASSES and i != "arp"]
    chords = chord_cands[0] if chord_cands else style.chords
    if chord_cands and (chords in SUSTAINED) != (style.chords in SUSTAINED) and (
            style.chords not in r.excluded):
        # "rock with organ" keeps its guitars and "ambient with piano" its pads:
        # a named instrument of the other kind joins instead of replacing them
        chords = style.chords
    melody_cands = [i for i in tonal if i in MELODY_FIRST] + [
        i for i in chord_cands if i != chords and i not in SUSTAINED]
    melody = melody_cands[0] if melody_cands else style.melody
    if not melody_cands and r.calm and style.name in CALM_MELODY:
        melody = CALM_MELODY[style.name]
    used = {chords, melody, bass}
    extras = [i for i in tonal if i not in used and i not in BASSES]
    if r.energy >= 0.6 or r.epic:
        extras += [i for i in style.extras if i not in used and i not in extras
                   and i not in r.excluded]

    parts = [Part(chords, "chords", comp_style(chords, style))]
    if melody:
        parts.append(Part(melody, "melody", ""))
    if bass:
        bstyle = style.bass_style if style.bass_style not in ("none", "drone") else "rootfifth"
        parts.append(Part(bass, "bass", bstyle))
    elif style.bass_style == "drone" and chords in SUSTAINED:
        parts.append(Part(chords, "drone", "drone"))
    for inst in extras:
        if inst in MELODY_FIRST and inst != "bells":
            role = "answer"
        elif inst == "bells":
            role = "sparkle"
        elif inst == "arp":
            role = "arp"
        elif inst in SUSTAINED or inst == "distorted guitar":
            role = "layer"
        else:
            role = "broken"
        parts.append(Part(inst, role, comp_style(inst, style) if role == "layer" else ""))

    meter = METERS[r.meter]
    n_bars = form.bar_count(duration, r.tempo, meter.beats)
    tagged = lyric_sections(lyrics) if lyrics else []
    dropped, language = 0, None
    if tagged:
        sung = not instrumental and any(lines for _, lines in tagged)
        language = (vocal_language or "en") if sung else None
        shaped = lyric_form(tagged, n_bars, meter.eighths, meter.beats * 60.0 / r.tempo, language)
        sections, dropped = shaped.sections, shaped.dropped
        sources["form"] = "lyrics"
    else:
        sections = tuple(form.sections(n_bars, form.phrase_bars(style)))
        sources["form"] = "composer"
    vocals = any(s.lines for s in sections) and not instrumental
    kinds = {s.kind for s in sections}
    # a part whose sections never occur in this form would be listed yet silent
    parts = [p for p in parts if p.role not in ROLE_SECTIONS or kinds & ROLE_SECTIONS[p.role]]
    return Plan(r, style, duration, tuple(parts), drums, tuple(sections), meter, vocals,
                language if vocals else None, sources, dropped)
