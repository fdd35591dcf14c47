"""What an engine accepts and returns: audio format, input limits, musical vocabularies.

Standard library only, so the API and the job contract validate against the very
same limits without importing numpy, torch or an engine.
"""

from __future__ import annotations

import random
import re

SAMPLE_RATE = 48_000
CHANNELS = 2
SAMPLE_WIDTH = 2  # bytes: 16-bit PCM WAV

MAX_PROMPT_CHARS = 500
MAX_GENRE_CHARS = 50
# Engines accept any whole number of seconds in this range; the public API
# narrows it to 30/60/120. Short renders keep tests and benches quick.
MIN_DURATION = 1
MAX_DURATION = 600
MAX_SEED = 2**31 - 1

MAX_LYRICS_CHARS = 3000
MIN_BPM = 40
MAX_BPM = 220
TIME_SIGNATURES = ("2/4", "3/4", "4/4", "6/8")
SECTION_TAGS = ("intro", "verse", "pre-chorus", "chorus", "bridge", "outro", "instrumental")
# ACE-Step 1.5's vocal languages (its constants' VALID_LANGUAGES); "unknown" is
# what it uses for instrumentals.
VOCAL_LANGUAGES = (
    "ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr",
    "he", "hi", "hr", "ht", "hu", "id", "is", "it", "ja", "ko", "la", "lt", "ms", "ne",
    "nl", "no", "pa", "pl", "pt", "ro", "ru", "sa", "sk", "sr", "sv", "sw", "ta", "te",
    "th", "tl", "tr", "uk", "ur", "vi", "yue", "zh", "unknown",
)  # fmt: skip

# Pitch class of each tonic spelling; both spellings of a black key are valid.
TONICS = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6,
    "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
}  # fmt: skip
MODES = ("major", "minor")
_KEY = re.compile(r"^\s*([A-Ga-g])\s*([#♯b♭]?)\s*(major|minor|maj|min)\s*$", re.IGNORECASE)


def normalize_key(text: str) -> str:
    """'f# MINOR' -> 'F# minor', 'bb maj' -> 'Bb major'; ValueError when not one of the 24."""
    match = _KEY.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(
            "`key` must be a major or minor key such as 'C major', 'F# minor' or 'Bb major'"
        )
    letter, accidental, mode = match.groups()
    accidental = {"♯": "#", "♭": "b", "B": "b"}.get(accidental, accidental)
    tonic = letter.upper() + accidental
    if tonic not in TONICS:
        raise ValueError(f"`key` has no tonic {tonic!r} (use e.g. 'F#' or 'Gb')")
    return f"{tonic} {'major' if mode.lower().startswith('maj') else 'minor'}"


def key_parts(key: str) -> tuple[int, str]:
    """A normalised key -> (tonic pitch class 0-11, 'major' | 'minor')."""
    tonic, mode = key.split(" ")
    return TONICS[tonic], mode


_TAG = re.compile(r"^\s*\[([^\]]*)\]\s*$")


def lyric_sections(lyrics: str) -> list[tuple[str, list[str]]]:
    """Lyrics -> [(section tag, sung lines)], in order; untagged text is a verse.

    Raises ValueError naming the bad tag; blank lines are dropped.
    """
    sections: list[tuple[str, list[str]]] = []
    for raw in lyrics.splitlines():
        line = raw.strip()
        if not line:
            continue
        tag = _TAG.match(line)
        if tag:
            name = tag.group(1).strip().lower()
            if name not in SECTION_TAGS:
                raise ValueError(
                    f"`lyrics` has an unknown section tag [{tag.group(1)}]; "
                    f"use one of {', '.join(f'[{t}]' for t in SECTION_TAGS)}"
                )
            sections.append((name, []))
            continue
        if not sections:
            sections.append(("verse", []))
        sections[-1][1].append(line)
    return sections


def check_inputs(
    prompt,
    duration,
    genre=None,
    seed=None,
    *,
    lyrics=None,
    instrumental=None,
    vocal_language=None,
    bpm=None,
    key=None,
    time_signature=None,
) -> None:
    """Raise ValueError naming the first bad argument (diffusers style).

    Engines get values the job contract has already normalised; this guards
    direct callers (CLI, benches) and keeps each engine's promise explicit.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("`prompt` must be a non-empty string")
    if len(prompt.strip()) > MAX_PROMPT_CHARS:
        raise ValueError(f"`prompt` must be at most {MAX_PROMPT_CHARS} characters")
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise ValueError(f"`duration` must be an integer number of seconds, got {duration!r}")
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise ValueError(f"`duration` must be between {MIN_DURATION} and {MAX_DURATION} seconds")
    if genre is not None and (not isinstance(genre, str) or len(genre) > MAX_GENRE_CHARS):
        raise ValueError(f"`genre` must be a string of at most {MAX_GENRE_CHARS} characters")
    if seed is not None and not _int_in(seed, 0, MAX_SEED):
        raise ValueError(f"`seed` must be an integer between 0 and {MAX_SEED}")
    if lyrics is not None:
        if not isinstance(lyrics, str) or len(lyrics) > MAX_LYRICS_CHARS:
            raise ValueError(f"`lyrics` must be a string of at most {MAX_LYRICS_CHARS} characters")
        lyric_sections(lyrics)
    if instrumental is not None and not isinstance(instrumental, bool):
        raise ValueError("`instrumental` must be true or false")
    if instrumental and lyrics and lyrics.strip():
        raise ValueError("`instrumental` cannot be true when `lyrics` are given")
    if vocal_language is not None and vocal_language not in VOCAL_LANGUAGES:
        raise ValueError(f"`vocal_language` must be one of {', '.join(VOCAL_LANGUAGES)}")
    if bpm is not None and not _int_in(bpm, MIN_BPM, MAX_BPM):
        raise ValueError(f"`bpm` must be an integer from {MIN_BPM} to {MAX_BPM}")
    if key is not None and normalize_key(key) != key:
        raise ValueError(f"`key` must be normalised, e.g. {normalize_key(key)!r}")
    if time_signature is not None and time_signature not in TIME_SIGNATURES:
        raise ValueError(f"`time_signature` must be one of {', '.join(TIME_SIGNATURES)}")


def resolve_seed(seed: int | None) -> int:
    return random.SystemRandom().randint(0, MAX_SEED) if seed is None else seed


def _int_in(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
