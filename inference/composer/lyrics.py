"""Lyrics: the syllables a line is sung on, and the song form the lyrics imply.

The syllable counter is a spelling heuristic (vowel groups, English silent
endings), not a dictionary: it is right for most common words and off by one
now and then, which only moves a note. Han, kana and hangul characters are a
syllable each.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from inference.composer.form import Section

VOWELS = "aeiouy"
# Vowel letters of other alphabets as the Latin vowel they are sung like; the
# iotated Cyrillic ones start a syllable of their own even after a vowel (мо-я).
_FOREIGN = str.maketrans({**dict(zip("аиоуыэαεηιουω", "aiouieaeiiouo", strict=True)),
                          "е": "je", "ё": "jo", "ю": "ju", "я": "ja"})
# The vowel a group of vowel letters is sung on (first match wins).
_GROUP_VOWEL = (("ee", "i"), ("ea", "i"), ("ie", "i"), ("ey", "i"), ("oo", "u"), ("ou", "u"),
                ("ew", "u"), ("ue", "u"), ("ai", "e"), ("ay", "e"), ("ei", "e"), ("oa", "o"),
                ("ow", "o"), ("oe", "o"), ("oi", "o"), ("oy", "o"), ("au", "a"), ("aw", "a"))
_LETTER_VOWEL = {"a": "a", "e": "e", "i": "i", "o": "o", "u": "u", "y": "i"}
PLOSIVES = set("pbtdkgcq")
FRICATIVES = set("sfvzxjh")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Vowel pairs that are two syllables ("li-on", "pi-a-no"), except in -tion, -sion, -cious.
_HIATUS = re.compile(r"(?<![tscx])i[ao]")


@dataclass(frozen=True)
class Syllable:
    vowel: str  # a, e, i, o, u
    onset: str  # plosive | fricative | voiced | "" (starts on the vowel)


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF
            or 0xF900 <= o <= 0xFAFF)


def _fold(word: str) -> str:
    """Lower case, accents off, Cyrillic and Greek vowels as Latin ones."""
    base = unicodedata.normalize("NFD", word.lower().replace("'", "").replace("’", ""))
    return "".join(c for c in base if not unicodedata.combining(c)).translate(_FOREIGN)


def _onset(cluster: str) -> str:
    if not cluster:
        return ""
    if cluster[-1] in FRICATIVES or (cluster[-1] == "h" and len(cluster) > 1):
        return "fricative"
    return "plosive" if cluster[-1] in PLOSIVES else "voiced"


def _vowel(group: str) -> str:
    for letters, vowel in _GROUP_VOWEL:
        if letters in group:
            return vowel
    return _LETTER_VOWEL.get(group[0], "a")


@cache
def _word_syllables(word: str, english: bool) -> tuple[Syllable, ...]:
    w = _fold(word)
    spans = [m.span() for m in re.finditer(f"[{VOWELS}]+", w)]
    if spans and spans[0][0] == 0 and w[0] == "y":  # "you", "yes": y is a consonant
        spans[0] = (1, spans[0][1])
    out = []
    for start, end in spans:
        split = _HIATUS.search(w, start, end)
        if split:
            out += [(start, split.start() + 1), (split.start() + 1, end)]
        elif end > start:
            out.append((start, end))
    if english and len(out) > 1:
        s, e = out[-1]
        tail = w[e:]
        silent_e = w[s:e] == "e" and (
            (tail == "" and not (w.endswith("le") and len(w) > 2 and w[-3] not in VOWELS))
            or (tail == "d" and w[s - 1] not in "td")
            or (tail == "s" and w[s - 1] not in "sxzhcg"))
        if silent_e:
            out.pop()
    if not out:  # a word without vowel letters ("hmm", "nth") still takes a note
        return (Syllable("a", "voiced"),)
    sylls, prev_end = [], 0
    for s, e in out:
        sylls.append(Syllable(_vowel(w[s:e]), _onset(re.sub("[aeiou]", "", w[prev_end:s]))))
        prev_end = e
    return tuple(sylls)


def syllables(line: str, language: str | None = "en") -> list[Syllable]:
    english = language in (None, "en")
    out: list[Syllable] = []
    for word in _WORD.findall(line):
        run = ""
        for ch in word + " ":
            if ch != " " and _is_cjk(ch):
                if run:
                    out += _word_syllables(run, english)
                    run = ""
                out.append(Syllable("aeiou"[ord(ch) % 5], "voiced"))
            elif ch != " ":
                run += ch
        if run:
            out += _word_syllables(run, english)
    return out


@dataclass(frozen=True)
class LyricForm:
    sections: tuple[Section, ...]
    per_line: int  # bars a line gets when its syllables fit
    dropped: int  # lines that did not fit in the duration


def lyric_form(tagged: list[tuple[str, list[str]]], n_bars: int, eighths_per_bar: int,
               bar_seconds: float, language: str | None) -> LyricForm:
    """Sections in the lyrics' order, each as long as its lines need.

    A line gets 4, 2 or 1 bars (the most that fits the duration and keeps a
    line under ~8 s), more when it has more syllables than eighth notes. What
    is left over becomes an intro and an instrumental ending; lyrics longer
    than the piece lose their last lines."""
    blocks = [(kind, [] if kind == "instrumental" else lines) for kind, lines in tagged]
    counts = [[len(syllables(line, language)) for line in lines] for _, lines in blocks]
    options = [p for p in (4, 2) if p * bar_seconds <= 8.0] + [1]
    for per_line in options:
        sizes = [_line_bars(c, per_line, eighths_per_bar) for c in counts]
        if sum(_block_bars(s, per_line) for s in sizes) <= n_bars:
            break
    parts: list[tuple[str, list[str], list[int], int]] = []
    used = dropped = 0
    for (kind, lines), line_sizes in zip(blocks, sizes, strict=True):
        room = n_bars - used
        if dropped or room <= 0:  # once a line is cut, the rest of the lyrics go too
            dropped += len(lines)
            continue
        fit = 0
        while fit < len(lines) and sum(line_sizes[:fit + 1]) <= room:
            fit += 1
        dropped += len(lines) - fit
        bars = sum(line_sizes[:fit]) if lines else min(room, _block_bars([], per_line))
        if bars:
            parts.append((kind, lines[:fit], line_sizes[:fit], bars))
            used += bars
    parts = _pad(parts, n_bars - sum(p[3] for p in parts), per_line)
    sections, start = [], 0
    for kind, lines, line_sizes, bars in parts:
        sections.append(Section(kind, start, bars, tuple(lines), tuple(line_sizes)))
        start += bars
    return LyricForm(tuple(sections), per_line, dropped)


def _line_bars(counts: list[int], per_line: int, eighths: int) -> list[int]:
    return [per_line * max(1, math.ceil(c / (per_line * eighths))) for c in counts]


def _block_bars(sizes: list[int], per_line: int) -> int:
    return sum(sizes) if sizes else max(2, 2 * per_line)


def _pad(parts: list, rest: int, per_line: int) -> list:
    """Spread unused bars: an intro before the first line, an instrumental and an outro after."""
    pad = max(4, 2 * per_line)
    if not parts:
        return [("verse", [], [], rest)] if rest else []
    if rest >= 2 and parts[0][0] not in ("intro", "instrumental"):
        intro = min(rest // 2, pad)
        parts = [("intro", [], [], intro), *parts]
        rest -= intro
    if rest <= 0:
        return parts
    kind, lines, sizes, bars = parts[-1]
    if rest < 4:
        return [*parts[:-1], (kind, lines, sizes, bars + rest)]
    if not lines:  # the lyrics end on their own ending: the break goes before it
        return [*parts[:-1], ("instrumental", [], [], rest), parts[-1]]
    outro = rest if rest - pad < 4 else pad
    tail = [("instrumental", [], [], rest - outro)] if rest > outro else []
    return [*parts, *tail, ("outro", [], [], outro)]
