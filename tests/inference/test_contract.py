"""The engine contract's vocabularies and checks (stdlib only, no engine loaded)."""

from __future__ import annotations

import pytest

from inference.contract import (
    MAX_SEED,
    check_inputs,
    key_parts,
    lyric_sections,
    normalize_key,
    resolve_seed,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [("c major", "C major"), ("F# MINOR", "F# minor"), ("bb maj", "Bb major"),
     ("E♭ min", "Eb minor"), (" a minor ", "A minor")],
)
def test_keys_are_normalised(text, key):
    assert normalize_key(text) == key


@pytest.mark.parametrize("text", ["H major", "C dorian", "Cb major", "", "C#", 5])
def test_bad_keys_name_the_field(text):
    with pytest.raises(ValueError, match="`key`"):
        normalize_key(text)


def test_key_parts():
    assert key_parts("F# minor") == (6, "minor") and key_parts("Gb major") == (6, "major")


def test_lyrics_sections_in_order_with_untagged_text_as_verse():
    text = "first line\n\n[Chorus]\nla la\nla\n[bridge]\n[outro]\nbye"
    assert lyric_sections(text) == [("verse", ["first line"]), ("chorus", ["la la", "la"]),
                                    ("bridge", []), ("outro", ["bye"])]
    with pytest.raises(ValueError, match=r"\[hook\]"):
        lyric_sections("[hook]\nyeah")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"duration": 0}, "duration"), ({"seed": MAX_SEED + 1}, "seed"), ({"bpm": 39}, "bpm"),
     ({"bpm": True}, "bpm"), ({"time_signature": "5/4"}, "time_signature"),
     ({"vocal_language": "xx"}, "vocal_language"), ({"key": "f# minor"}, "key"),
     ({"lyrics": "la", "instrumental": True}, "instrumental"), ({"lyrics": "x" * 3001}, "lyrics")],
)
def test_check_inputs_names_the_bad_argument(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        check_inputs(**{"prompt": "p", "duration": 30, **kwargs})


def test_seeds():
    assert resolve_seed(5) == 5
    drawn = {resolve_seed(None) for _ in range(50)}
    assert len(drawn) > 40 and all(0 <= s <= MAX_SEED for s in drawn)
