"""The song fields as command-line flags, for the engines' own command lines."""

from __future__ import annotations

import argparse
from pathlib import Path

from inference.contract import TIME_SIGNATURES, VOCAL_LANGUAGES, normalize_key


def _key(text: str) -> str:
    try:
        return normalize_key(text)
    except ValueError as exc:  # argparse shows this message instead of a generic one
        raise argparse.ArgumentTypeError(str(exc)) from None


def _lyrics(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read lyrics file {path!r}: {exc}") from None


def add_song_arguments(parser: argparse.ArgumentParser) -> None:
    song = parser.add_argument_group("song")
    song.add_argument(
        "--lyrics-file", dest="lyrics", type=_lyrics, help="UTF-8 lyrics, [verse]/[chorus] tags"
    )
    song.add_argument("--language", dest="vocal_language", choices=VOCAL_LANGUAGES)
    song.add_argument("--bpm", type=int)
    song.add_argument("--key", type=_key, help="e.g. 'F# minor', 'Bb major'")
    song.add_argument("--time-signature", choices=TIME_SIGNATURES)


def song_fields(args: argparse.Namespace) -> dict:
    """The song fields given on the command line (unset ones are left out)."""
    names = ("lyrics", "vocal_language", "bpm", "key", "time_signature")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}
