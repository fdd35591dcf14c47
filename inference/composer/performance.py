"""What the composer played, as data: the notes behind MIDI and the parts behind stems.

``ComposerEngine.perform`` renders the piece again with its parts kept apart
and records every note as performed (swing and timing feel included), so the
MIDI file lines up with the audio and the stems add up to the mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inference.composer.lyrics import _WORD, _is_cjk, _word_syllables

# General MIDI program (0-based) per instrument, the nearest GM sound to each voice.
GM_PROGRAMS = {
    "piano": 0, "electric piano": 4, "bells": 14, "organ": 16, "acoustic guitar": 25,
    "electric guitar": 27, "distorted guitar": 30, "lead guitar": 29, "bass": 33,
    "synth bass": 38, "strings": 48, "low strings": 48, "violin": 40, "pad": 89, "brass": 61,
    "saxophone": 65, "flute": 73, "harmonica": 22, "synth lead": 81, "arp": 80, "voice": 53,
}
# General MIDI percussion key per kit sound (channel 10).
GM_DRUMS = {
    "kick": 36, "rim": 37, "snare": 38, "clap": 39, "hat": 42, "pedal": 44, "tom": 45,
    "open": 46, "crash": 49, "ride": 51, "riser": 52, "taiko": 41, "shaker": 70,
}
DRUM_NOTE_SECONDS = 0.1


@dataclass(frozen=True)
class Track:
    instrument: str
    program: int
    drums: bool
    # (onset s, length s, MIDI pitch, velocity 0..1) as performed, sorted by onset
    notes: list[tuple[float, float, int, float]]
    lyrics: list[str] = field(default_factory=list)  # one per note (voice track only)
    group: str = ""  # the stem it sounds in


@dataclass(frozen=True)
class Performance:
    tempo: float
    time_signature: str
    key: str  # tonic as reported, e.g. "F#"
    mode: str
    sections: list[tuple[str, float]]  # (name, start s)
    tracks: list[Track]
    duration: int
    # pre-master stereo parts by group (see engine.GROUPS); None when not asked for
    stems: dict[str, np.ndarray] | None = None


def tracks(instruments: list[str], played: dict) -> list[Track]:
    """One track per instrument of the plan, in the plan's order."""
    out = []
    for inst in instruments:
        if inst == "drums":
            notes = [(t, DRUM_NOTE_SECONDS, GM_DRUMS[name], v) for t, name, v in played.get(
                "drums", [])]
            out.append(Track(inst, 0, True, sorted(notes), group="drums"))
        elif inst == "voice":
            sung, texts = played.get("sung", []), played.get("syllables", [])
            notes, words = [], []
            for i, onset, length, vel in played.get("voice", []):
                notes.append((onset, length, sung[i].pitch, vel))
                words.append(texts[i] if i < len(texts) else "")
            out.append(Track(inst, GM_PROGRAMS["voice"], False, notes, words, "voice"))
        else:
            notes = sorted(played.get("notes", {}).get(inst, []))
            out.append(Track(inst, GM_PROGRAMS.get(inst, 0), False, notes, [],
                             played.get("groups", {}).get(inst, "")))
    return out


def sung_texts(sections, n_bars: int, language: str | None) -> list[str]:
    """Each sung syllable's text, in the order singer.sing gives the notes
    (a line that starts past the last bar is not sung)."""
    out: list[str] = []
    for sec in sections:
        first = sec.start_bar
        for line, size in zip(sec.lines, sec.line_bars, strict=True):
            if first >= n_bars:
                break
            out += syllable_texts(line, language)
            first += size
    return out


def syllable_texts(line: str, language: str | None) -> list[str]:
    """The line cut into as many pieces as lyrics.syllables counts, a hyphen
    ending each piece that does not end its word ("hel-", "lo")."""
    english = language in (None, "en")
    out: list[str] = []
    for word in _WORD.findall(line):
        run = ""
        for ch in word + " ":
            if ch != " " and _is_cjk(ch):
                if run:
                    out += _split(run, len(_word_syllables(run, english)))
                    run = ""
                out.append(ch)
            elif ch != " ":
                run += ch
        if run:
            out += _split(run, len(_word_syllables(run, english)))
    return out


def _split(word: str, n: int) -> list[str]:
    if n <= 1:
        return [word]
    # cut in the consonants between vowel groups where the spelling shows them,
    # else into even pieces
    groups, inside = [], False
    for i, ch in enumerate(word.lower()):
        vowel = ch in "aeiouyàáâäèéêëìíîïòóôöùúûü"
        if vowel and not inside:
            groups.append(i)
        inside = vowel
    if len(groups) >= n:
        starts = [0]
        for g in range(1, n):
            prev_end = groups[g - 1] + 1
            while prev_end < len(word) and word[prev_end].lower() in "aeiouy":
                prev_end += 1
            starts.append((prev_end + groups[g]) // 2)
    else:
        starts = [round(k * len(word) / n) for k in range(n)]
    starts = sorted(set(starts))
    while len(starts) < n:  # a word shorter than its syllable count
        starts.append(len(word))
    pieces = [word[a:b] for a, b in zip(starts, starts[1:] + [len(word)], strict=True)]
    return [p + "-" for p in pieces[:-1]] + [pieces[-1]]
