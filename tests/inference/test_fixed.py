"""The fixed-latency engine takes every song field, checks it, and says what it was given."""

from __future__ import annotations

import numpy as np
import pytest

from inference.fixed import FixedLatencyEngine

SONG = {
    "lyrics": "[verse]\nla la",
    "instrumental": False,
    "vocal_language": "fr",
    "bpm": 96,
    "key": "Bb major",
    "time_signature": "6/8",
}


@pytest.fixture
def engine():
    return FixedLatencyEngine(latency_ms=0, steps=2)


def test_song_fields_are_accepted_and_do_not_change_the_output(engine):
    plain = engine.generate(prompt="piano", duration=2, seed=4)
    song = engine.generate(prompt="piano", duration=2, seed=4, **SONG)
    assert song.shape == (2 * 48_000, 2) and song.dtype == np.float32
    np.testing.assert_array_equal(plain, song)


def test_understand_keeps_latency_and_adds_the_given_fields(engine):
    assert engine.understand(prompt="piano", duration=2) == {"latency_ms": 0.0}
    assert engine.understand(prompt="piano", duration=2, **SONG) == {"latency_ms": 0.0, **SONG}
    partial = engine.understand(prompt="piano", duration=2, bpm=150, key=None)
    assert partial == {"latency_ms": 0.0, "bpm": 150}


@pytest.mark.parametrize(
    ("field", "value"),
    [("bpm", 39), ("key", "C dorian"), ("time_signature", "7/8"), ("vocal_language", "EN")],
)
def test_bad_fields_are_refused_by_both_calls(engine, field, value):
    for call in (engine.generate, engine.understand):
        with pytest.raises(ValueError, match=field):
            call(prompt="piano", duration=2, **{field: value})


def test_lyrics_with_instrumental_true_are_refused(engine):
    with pytest.raises(ValueError, match="instrumental"):
        engine.generate(prompt="piano", duration=2, lyrics="la", instrumental=True)
