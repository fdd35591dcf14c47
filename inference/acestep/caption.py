"""Turn the user's prompt and optional genre into ACE-Step's caption text."""

from __future__ import annotations

import re

# ACE-Step 1.5's documented marker for tracks without vocals (ACE-Step-1.5
# docs/en/INFERENCE.md: 'Use "[Instrumental]" for instrumental tracks').
INSTRUMENTAL_LYRICS = "[Instrumental]"
# ACE-Step's own default when no vocals are wanted ("unknown" is in its
# VALID_LANGUAGES); diffusers defaults to "en", which only matters for lyrics.
INSTRUMENTAL_LANGUAGE = "unknown"

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
