"""The engines' command lines take the song fields as flags."""

from __future__ import annotations

import argparse

import pytest

from inference.song_args import add_song_arguments, song_fields


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_song_arguments(parser)
    return song_fields(parser.parse_args(argv))


def test_no_flags_no_fields():
    assert parse() == {}


def test_flags_become_normalised_fields(tmp_path):
    lyrics = tmp_path / "song.txt"
    lyrics.write_text("[verse]\nhé là\n", encoding="utf-8")
    flags = "--language fr --bpm 96 --time-signature 6/8".split()
    assert parse("--lyrics-file", str(lyrics), "--key", "f# MIN", *flags) == {
        "lyrics": "[verse]\nhé là\n",
        "vocal_language": "fr",
        "bpm": 96,
        "key": "F# minor",
        "time_signature": "6/8",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--key", "H major"], "`key` must be a major or minor key"),
        (["--time-signature", "5/4"], "invalid choice"),
        (["--lyrics-file", "/nonexistent/lyrics.txt"], "cannot read lyrics file"),
    ],
)
def test_bad_flags_exit_with_the_reason(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)
    assert message in capsys.readouterr().err
