"""The plan: which instrument plays which role, and the form over time.

A plan depends on (prompt, genre, duration) only. The seed then chooses the
progressions, motifs and grooves inside it, so ``understand()`` is exact
whether or not a seed is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.composer import form
from inference.composer.prompt import Reading, read_prompt
from inference.composer.styles import STYLES, Style

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

    @property
    def instruments(self) -> list[str]:
        seen: list[str] = []
        for p in self.parts:
            if p.instrument not in seen:
                seen.append(p.instrument)
        return seen + (["drums"] if self.drums else [])

    def summary(self) -> dict:
        r = self.reading
        beat = 60.0 / r.tempo
        return {
            "genre": r.genre, "key": r.key, "mode": r.mode, "tempo": r.tempo,
            "time_signature": "4/4", "energy": r.energy,
            "instruments": self.instruments, "ambience": list(r.ambience),
            "drums": self.drums, "swing": self.style.swing,
            "form": [{"section": s.kind, "bars": s.bars,
                      "start": round(s.start_bar * form.BEATS_PER_BAR * beat, 3)}
                     for s in self.sections],
            "duration": self.duration,
        }


def comp_style(inst: str, style: Style) -> str:
    cs = style.comp_style
    if inst in SUSTAINED:
        return "pad"
    if inst == "distorted guitar":
        return "power"
    if inst in GUITARS:
        return cs if cs in ("strum", "shuffle", "jazz", "lofi", "alberti") else "strum"
    return "block" if cs in ("power", "strum", "shuffle", "pad") else cs


def make_plan(prompt: str, duration: int, genre: str | None = None) -> Plan:
    r = read_prompt(prompt, genre)
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

    n_bars = form.bar_count(duration, r.tempo)
    sections = form.sections(n_bars, form.phrase_bars(style))
    kinds = {s.kind for s in sections}
    # a part whose sections never occur in this form would be listed yet silent
    parts = [p for p in parts if p.role not in ROLE_SECTIONS or kinds & ROLE_SECTIONS[p.role]]
    return Plan(r, style, duration, tuple(parts), drums, tuple(sections))
