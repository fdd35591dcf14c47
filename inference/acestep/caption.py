"""Turn a song request into the text ACE-Step is conditioned on.

``conditioning()`` maps our normalised fields onto the keyword arguments of
``diffusers.AceStepPipeline.__call__``, which writes them into two templates:
the caption prompt (``# Caption`` + ``# Metas`` with bpm, timesignature,
keyscale) and the lyric prompt (``# Languages`` + ``# Lyric``).
"""

from __future__ import annotations

import re

from inference.contract import lyric_sections

# ACE-Step 1.5's documented marker for tracks without vocals (ACE-Step-1.5
# docs/en/INFERENCE.md: 'Use "[Instrumental]" for instrumental tracks').
INSTRUMENTAL_LYRICS = "[Instrumental]"
# ACE-Step's own default when no vocals are wanted ("unknown" is in its
# VALID_LANGUAGES); diffusers defaults to "en", which only matters for lyrics.
INSTRUMENTAL_LANGUAGE = "unknown"
# The service's default for sung lyrics without a `vocal_language`.
DEFAULT_LANGUAGE = "en"

_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    # The caption sits inside a line-oriented template ("# Caption\n{}\n\n# Metas"),
    # so newlines in user text would fake section headers: fold all whitespace.
    return _SPACES.sub(" ", text).strip()


def build_caption(prompt: str, genre: str | None = None) -> str:
    """ACE-Step captions read like comma-separated tags ("lofi, mellow piano ...").

    The genre goes first, as the style tag, unless the prompt already names it.
    """
    caption = _clean(prompt)
    genre = _clean(genre or "")
    # Whole-word match, so "pop" is not taken as present in "k-pop-ish" or "popcorn".
    if genre and not re.search(rf"(?<!\w){re.escape(genre)}(?!\w)", caption, re.IGNORECASE):
        caption = f"{genre}, {caption}"
    return caption


def _tag(name: str) -> str:
    # Our tags are lowercase; ACE-Step 1.5's own guide (docs/en/Tutorial.md,
    # "Common Structure Tags") and its "[Instrumental]" marker are capitalised:
    # [Verse], [Pre-Chorus]. (diffusers' docstring example writes "[verse]"; we
    # follow the model authors.)
    return "[" + "-".join(part.capitalize() for part in name.split("-")) + "]"


def is_sung(lyrics: str | None, instrumental: bool | None = None) -> bool:
    """True when the lyrics have at least one line to sing."""
    if instrumental or not lyrics:
        return False
    return any(lines for _, lines in lyric_sections(lyrics))


def build_lyrics(lyrics: str | None, instrumental: bool | None = None) -> str:
    """Lyrics in ACE-Step's form: capitalised section tags, a blank line between
    sections (as its tutorial recommends); "[Instrumental]" when there are none.

    Tag-only lyrics ("[intro]\\n[outro]") are kept: ACE-Step reads them as the
    form of an instrumental piece.
    """
    if instrumental or not lyrics or not lyrics.strip():
        return INSTRUMENTAL_LYRICS
    return "\n\n".join("\n".join([_tag(name), *lines]) for name, lines in lyric_sections(lyrics))


def build_timesignature(time_signature: str | None) -> str | None:
    """'3/4' -> '3', '6/8' -> '6': ACE-Step names a meter by its numerator.

    ACE-Step-1.5 acestep/constants.py VALID_TIME_SIGNATURES = [2, 3, 4, 6]
    ("2: 2/4 ... 6: 6/8"); docs/en/INFERENCE.md: "2 for '2/4', 3 for '3/4',
    4 for '4/4', 6 for '6/8'"; diffusers' AceStepPipeline docstring: '"3" for 3/4'.
    """
    return time_signature.split("/")[0] if time_signature else None


def conditioning(
    prompt: str,
    genre: str | None = None,
    *,
    lyrics: str | None = None,
    instrumental: bool | None = None,
    vocal_language: str | None = None,
    bpm: int | None = None,
    key: str | None = None,
    time_signature: str | None = None,
) -> dict:
    """``AceStepPipeline`` keyword -> value for everything the request says.

    None (unspecified) stays None: the pipeline then writes "N/A" in its metas,
    the value ACE-Step was trained with for unknown metadata. Our normalised
    key ("F# minor", "Bb major") is already the form of ACE-Step's
    VALID_KEYSCALES (note + accidental, space, lowercase mode).
    """
    sung = is_sung(lyrics, instrumental)
    return {
        "prompt": build_caption(prompt, genre),
        "lyrics": build_lyrics(lyrics, instrumental),
        # A language only means something for sung words.
        "vocal_language": (vocal_language or DEFAULT_LANGUAGE) if sung else INSTRUMENTAL_LANGUAGE,
        "bpm": bpm,
        "keyscale": key,
        "timesignature": build_timesignature(time_signature),
    }
