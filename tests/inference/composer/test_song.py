"""The composer honours the song fields: bpm, key, time_signature and lyrics."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from inference.composer import ComposerEngine
from inference.composer.lyrics import syllables
from inference.contract import key_parts
from tests.inference.composer.analysis import (
    SR,
    accent_periodicity,
    accent_profile,
    estimate_key,
    onset_tempo,
    onset_times,
    pitch_at,
)

ENGINE = ComposerEngine()
SONG = """[verse]
The city lights are fading slow
I walk the empty streets alone
[chorus]
Hold on, hold on to me tonight
We will be fine, we will be fine
[instrumental]
[verse]
The morning comes with silver rain
And every door is closed again
[chorus]
Hold on, hold on to me tonight
We will be fine, we will be fine
[outro]
"""


@lru_cache(maxsize=16)
def render(prompt: str, duration: int, genre: str | None = None, seed: int = 1,
           **song) -> np.ndarray:
    audio = ENGINE.generate(prompt=prompt, duration=duration, genre=genre, seed=seed, **song)
    audio.setflags(write=False)
    return audio


@pytest.mark.parametrize(("genre", "bpm"), [("pop", 66), ("folk", 150), ("rock", 188),
                                            ("lofi", 104), ("electronic", 97)])
def test_requested_bpm_is_the_measured_tempo(genre, bpm):
    info = ENGINE.understand(prompt="a piece of music", duration=30, genre=genre, bpm=bpm)
    assert info["tempo"] == bpm and info["sources"]["tempo"] == "request"
    est = onset_tempo(render("a piece of music", 30, genre, bpm=bpm), bpm / 1.4, bpm * 1.4)
    assert abs(est / bpm - 1) < 0.02, (genre, est)


@pytest.mark.parametrize(("genre", "key"), [
    ("pop", "Bb major"), ("pop", "F# minor"), ("pop", "Eb minor"), ("pop", "C major"),
    ("cinematic", "D major"), ("cinematic", "G minor"), ("cinematic", "Ab major"),
    ("jazz", "A minor"), ("ambient", "Eb minor"), ("lofi", "Ab major"),
])
def test_requested_key_is_the_measured_key(genre, key):
    info = ENGINE.understand(prompt="a piece of music", duration=30, genre=genre, key=key)
    assert (info["key"], info["mode"]) == tuple(key.split())
    assert estimate_key(render("a piece of music", 30, genre, key=key)) == key_parts(key)


@pytest.mark.parametrize("genre", ["pop", "folk", "rock", "jazz", "electronic"])
def test_three_four_has_a_downbeat_every_six_eighths(genre):
    audio = render("a piece of music", 30, genre, bpm=100, time_signature="3/4")
    profile = accent_profile(audio, 100, 6)
    period = accent_periodicity(audio, 100)
    assert int(np.argmax(profile)) == 0, profile
    assert min(profile[2], profile[4]) > profile[3], profile  # beats 2 and 3, not 6/8's pulse
    assert period[6] > max(period[4], period[8]), period


@pytest.mark.parametrize("genre", ["pop", "folk", "rock", "jazz", "electronic"])
def test_six_eight_accents_every_three_eighths(genre):
    audio = render("a piece of music", 30, genre, bpm=100, time_signature="6/8")
    profile = accent_profile(audio, 100, 6)
    period = accent_periodicity(audio, 100)
    assert int(np.argmax(profile)) == 0, profile
    assert profile[3] > max(profile[1], profile[2], profile[4], profile[5]), profile
    assert period[6] > max(period[4], period[8]), period


def test_four_four_is_still_felt_in_eights():
    """The control for the two tests above: the same check reads 4/4 as 4/4."""
    period = accent_periodicity(render("a piece of music", 30, "folk", bpm=100), 100)
    assert period[8] > period[6], period


def test_a_waltz_is_in_three_unless_the_request_says_otherwise():
    info = ENGINE.understand(prompt="a gentle waltz for piano", duration=30)
    assert info["time_signature"] == "3/4" and info["sources"]["time_signature"] == "prompt"
    audio = render("a gentle waltz for piano", 30)
    period = accent_periodicity(audio, info["tempo"])
    assert period[6] > max(period[4], period[8]), period
    forced = ENGINE.understand(prompt="a gentle waltz", duration=30, time_signature="4/4")
    assert forced["time_signature"] == "4/4" and forced["sources"]["time_signature"] == "request"
    assert ENGINE.understand(prompt="a jig", duration=30)["time_signature"] == "6/8"
    assert ENGINE.understand(prompt="calm piano", duration=30)["time_signature"] == "4/4"


def _song(**extra):
    return {"prompt": "pop song", "duration": 60, "seed": 3, "lyrics": SONG, **extra}


def test_lyrics_become_the_form():
    info = ENGINE.understand(**_song())
    names = [s["name"] for s in info["sections"]]
    given = ["verse", "chorus", "instrumental", "verse", "chorus", "outro"]
    assert names == ["intro", *given], names  # the spare bars became an intro
    assert info["sections"][0]["start"] == 0.0 and info["sections"][-1]["end"] == 60.0
    for a, b in zip(info["sections"], info["sections"][1:], strict=False):
        assert a["end"] == b["start"]
    sung = [s for s in info["sections"] if s["lines"]]
    assert [s["line_count"] for s in sung] == [2, 2, 2, 2]
    assert sung[1]["lines"] == ["Hold on, hold on to me tonight",
                                "We will be fine, we will be fine"]
    # sections are as long as their lines: equal line counts, equal lengths
    lengths = {round(s["end"] - s["start"], 3) for s in sung}
    assert len(lengths) == 1
    assert info["syllables"] == sum(s["syllables"] for s in sung) == 65
    assert info["vocals"] is True and info["vocal_language"] == "en"
    assert "voice" in info["instruments"]
    assert info["sources"]["form"] == "lyrics"


def test_more_lines_make_a_longer_section():
    lyrics = "[verse]\na\nb\nc\nd\n[chorus]\ne\nf\n"
    info = ENGINE.understand(prompt="pop song", duration=60, lyrics=lyrics)
    verse, chorus = (s for s in info["sections"] if s["lines"])
    assert verse["bars"] == 2 * chorus["bars"]


def test_the_voice_sings_one_note_per_syllable_only_in_sung_sections():
    info = ENGINE.understand(**_song())
    notes, stem = ENGINE.vocal_stem(**_song())
    assert len(notes) == info["syllables"]
    onsets = onset_times(stem.astype(np.float64))
    assert abs(len(onsets) - info["syllables"]) <= 0.1 * info["syllables"], len(onsets)
    for sec in info["sections"]:
        a, b = int(sec["start"] * SR), int(sec["end"] * SR)
        # a note may ring 60 ms past its section, a consonant lead 30 ms into the one before
        inside = stem[a + int(0.15 * SR):b - int(0.1 * SR)]
        level = float(np.sqrt(np.mean(inside.astype(np.float64) ** 2)))
        if sec["lines"]:
            assert level > 0.02, sec
        else:
            assert level < 1e-4, sec


def test_the_voice_is_in_the_mix():
    _, stem = ENGINE.vocal_stem(**_song())
    mix = render(**_song()).astype(np.float64).mean(axis=1)
    sung = np.abs(stem) > 0
    corr = np.corrcoef(mix[sung], stem[sung])[0, 1]
    assert corr > 0.3, corr


def test_a_returning_chorus_is_sung_to_the_same_tune():
    notes, stem = ENGINE.vocal_stem(**_song())
    info = ENGINE.understand(**_song())
    choruses = [s for s in info["sections"] if s["name"] == "chorus"]
    beat = 60 / info["tempo"]
    tunes = []
    for sec in choruses:
        inside = [n for n in notes if sec["start"] <= n.start * beat < sec["end"]]
        heard = [round(pitch_at(stem, n.start * beat + 0.06)) for n in inside]
        assert heard == [n.pitch for n in inside]  # the audio sings the notes it was given
        tunes.append(heard)
    assert len(tunes) == 2 and tunes[0] == tunes[1] and len(set(tunes[0])) > 2
    verses = [s for s in info["sections"] if s["name"] == "verse"]
    assert [n.pitch for n in notes if verses[0]["start"] <= n.start * beat < verses[0]["end"]]


def test_instrumental_or_no_lyrics_means_no_voice():
    notes, stem = ENGINE.vocal_stem(prompt="pop song", duration=20, seed=3)
    assert notes == [] and not stem.any()
    tags_only = ENGINE.understand(prompt="pop", duration=30, lyrics="[intro]\n[instrumental]")
    assert tags_only["vocals"] is False and "voice" not in tags_only["instruments"]
    assert [s["name"] for s in tags_only["sections"]][:2] == ["intro", "instrumental"]
    with pytest.raises(ValueError, match="instrumental"):
        ENGINE.generate(prompt="pop", duration=5, lyrics="la la", instrumental=True)


def test_sections_cover_the_piece_without_lyrics():
    info = ENGINE.understand(prompt="upbeat pop song", duration=120)
    assert info["sections"][0]["start"] == 0.0 and info["sections"][-1]["end"] == 120.0
    assert [s["name"] for s in info["sections"]][:3] == ["intro", "verse", "chorus"]
    assert all(s["lines"] == [] for s in info["sections"])
    assert info["vocals"] is False and info["syllables"] == 0


def test_understood_stays_small_with_long_lyrics():
    line = "Ünder the bright and endless sky we're singing out loud"  # 55 chars
    lyrics = "\n".join(["[verse]", *[line] * 25, "[chorus]", *[line] * 25])[:3000]
    for duration in (30, 600):
        info = ENGINE.understand(prompt="pop", duration=duration, lyrics=lyrics)
        assert len(json.dumps(info)) < 4096, len(json.dumps(info))
        assert json.loads(json.dumps(info)) == info
    short = ENGINE.understand(prompt="pop", duration=30, lyrics=lyrics)
    assert short["lines_dropped"] > 0
    assert short["sections"][-1]["end"] == 30.0


@pytest.mark.parametrize(("field", "value"), [
    ("bpm", 30), ("bpm", 100.5), ("key", "H major"), ("key", "f# MINOR"),
    ("time_signature", "5/4"), ("lyrics", "[hook]\nla"), ("vocal_language", "xx"),
])
def test_bad_song_fields_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        ENGINE.generate(prompt="pop", duration=2, **{field: value})
    with pytest.raises(ValueError, match=field):
        ENGINE.understand(prompt="pop", duration=2, **{field: value})


def test_song_renders_are_deterministic_and_fields_change_them():
    kwargs = {"prompt": "folk song", "duration": 8, "seed": 7, "lyrics": "[verse]\nla la la",
              "bpm": 120, "key": "D minor", "time_signature": "6/8"}
    a = ENGINE.generate(**kwargs)
    assert a.tobytes() == ENGINE.generate(**kwargs).tobytes()
    for change in ({"bpm": 121}, {"key": "D major"}, {"time_signature": "3/4"},
                   {"lyrics": "[verse]\nla la"}):
        assert ENGINE.generate(**{**kwargs, **change}).tobytes() != a.tobytes(), change
    plain = ENGINE.generate(prompt="folk song", duration=8, seed=7)
    same = ENGINE.generate(prompt="folk song", duration=8, seed=7, lyrics=None, bpm=None,
                           key=None, time_signature=None, instrumental=None,
                           vocal_language=None)
    assert plain.tobytes() == same.tobytes()


@pytest.mark.parametrize(("line", "count"), [
    ("The city lights are fading slow", 8), ("I'm loved, you wanted little times", 8),
    ("every heaven piano", 8), ("rises like a lion", 6), ("hmm", 1),
    ("東京の夜", 4), ("любовь моя", 4), ("Canción de amor", 5),
])
def test_syllable_counter(line, count):
    assert len(syllables(line)) == count
    assert all(s.vowel in "aeiou" for s in syllables(line))


def test_lyrics_longer_than_the_piece_lose_their_last_lines():
    lyrics = "[verse]\n" + "\n".join(f"line number {i} goes on" for i in range(40))
    info = ENGINE.understand(prompt="pop", duration=20, lyrics=lyrics)
    (sung,) = [s for s in info["sections"] if s["lines"]]
    assert sung["lines"][0] == "line number 0 goes on"
    assert sung["line_count"] + info["lines_dropped"] == 40 and info["lines_dropped"] > 20
    notes, _ = ENGINE.vocal_stem(prompt="pop", duration=20, lyrics=lyrics)
    assert notes and max(n.start for n in notes) * 60 / info["tempo"] < 20


def test_cli_takes_the_song_fields(tmp_path: Path):
    (tmp_path / "song.txt").write_text("[verse]\nhello hello\n[chorus]\nsing along now\n")
    proc = subprocess.run(
        [sys.executable, "-m", "inference.composer", "folk song", "--duration", "6", "--seed", "2",
         "--lyrics-file", str(tmp_path / "song.txt"), "--bpm", "96", "--key", "d MINOR",
         "--time-signature", "6/8", "-o", str(tmp_path / "x.wav")],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[3])
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info["tempo"], info["key"], info["mode"], info["time_signature"]) == (
        96, "D", "minor", "6/8")
    assert info["vocals"] and (tmp_path / "x.wav").stat().st_size > 6 * SR * 4
