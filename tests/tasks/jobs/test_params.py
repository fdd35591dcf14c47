"""JobParams: one schema for the API, the batch CLI and send_task kwargs (no Redis needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tasks.jobs.params import InvalidParams, JobParams, validate


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({}, 422, "prompt is required"),
        ({"prompt": 5}, 422, "prompt must be a string"),
        ({"prompt": "  \n "}, 422, "prompt must not be empty"),
        ({"prompt": "x" * 501}, 422, "prompt must be at most 500 characters (got 501)"),
        ({"prompt": "\ud800"}, 422, "prompt must be valid Unicode text (no lone surrogates)"),
        ({"prompt": "a", "duration": 45}, 400, "duration must be one of 30, 60 or 120 seconds"),
        ({"prompt": "a", "duration": "60"}, 400, "duration must be one of 30, 60 or 120 seconds"),
        ({"prompt": "a", "duration": True}, 400, "duration must be one of 30, 60 or 120 seconds"),
        ({"prompt": "a", "genre": 7}, 422, "genre must be a string"),
        ({"prompt": "a", "genre": "g" * 51}, 422, "genre must be at most 50 characters"),
        ({"prompt": "a", "seed": -1}, 422, "seed must be an integer from 0 to 2147483647"),
        ({"prompt": "a", "seed": True}, 422, "seed must be an integer from 0 to 2147483647"),
        ({"prompt": "a", "tempo": 1, "mood": 2}, 422, "Unknown field(s): mood, tempo"),
    ],
)
def test_bad_input_is_one_sentence_naming_the_field(data, status, message):
    with pytest.raises(InvalidParams) as err:
        JobParams.parse(data)
    assert (err.value.status, str(err.value)) == (status, message)


def test_unknown_fields_are_reported_before_other_errors():
    with pytest.raises(InvalidParams, match=r"Unknown field\(s\): x"):
        JobParams.parse({"duration": 45, "x": 1})


def test_normalisation():
    params = validate(prompt="  jazz  ", duration=60.0, genre="   ", seed=7.0)
    assert params.as_dict() == {"prompt": "jazz", "duration": 60, "genre": None, "seed": 7,
                                "instrumental": True, "format": "wav"}
    assert JobParams.parse({"prompt": "x"}).duration == 60


def test_a_record_round_trips_and_its_other_fields_are_ignored():
    params = validate(prompt="jazz", duration=30, genre="jazz", seed=1)
    record = {**params.as_dict(), "job_id": "abc", "status": "queued", "attempts": 0}
    assert JobParams.from_record(record) == params


def test_params_are_frozen():
    params = validate(prompt="jazz")
    with pytest.raises(ValidationError):
        params.prompt = "rock"


def test_not_an_object():
    with pytest.raises(InvalidParams, match="JSON object"):
        JobParams.parse(["prompt"])


LYRICS = "[verse]\nwalking down the road\n[chorus]\nla la la"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lyrics": "x" * 3001}, "lyrics must be a string of at most 3000 characters"),
        ({"lyrics": 5}, "lyrics must be a string of at most 3000 characters"),
        ({"lyrics": "[solo]\nla"}, "lyrics has an unknown section tag [solo]; use one of"),
        ({"lyrics": "la", "instrumental": True},
         "instrumental cannot be true when lyrics are given"),
        ({"instrumental": "yes"}, "instrumental must be true or false"),
        ({"vocal_language": "klingon"}, "vocal_language must be one of ar, az,"),
        ({"bpm": 39}, "bpm must be an integer from 40 to 220"),
        ({"bpm": 221}, "bpm must be an integer from 40 to 220"),
        ({"bpm": 120.5}, "bpm must be an integer from 40 to 220"),
        ({"bpm": True}, "bpm must be an integer from 40 to 220"),
        ({"key": "H major"}, "key must be a major or minor key such as 'C major'"),
        ({"key": "E# minor"}, "key has no tonic 'E#'"),
        ({"key": 7}, "key must be a string such as 'C major'"),
        ({"time_signature": "5/4"}, "time_signature must be one of 2/4, 3/4, 4/4, 6/8"),
        ({"format": "ogg"}, "format must be one of wav, flac, mp3, opus"),
        ({"format": "MP3"}, "format must be one of wav, flac, mp3, opus"),
    ],
)
def test_song_field_errors_name_the_field(data, message):
    with pytest.raises(InvalidParams) as err:
        JobParams.parse({"prompt": "a", **data})
    assert err.value.status == 422
    assert str(err.value).startswith(message), str(err.value)


def test_song_defaults_follow_the_lyrics():
    plain = validate(prompt="a")
    assert (plain.instrumental, plain.vocal_language, plain.format) == (True, None, "wav")
    sung = validate(prompt="a", lyrics=f"  {LYRICS}\n ")
    assert (sung.instrumental, sung.vocal_language, sung.lyrics) == (False, "en", LYRICS)
    assert validate(prompt="a", lyrics="la", vocal_language="ja").vocal_language == "ja"
    assert validate(prompt="a", lyrics="la", instrumental=False).instrumental is False
    # Said explicitly, without lyrics: kept (and handed to the engine).
    unsung = validate(prompt="a", instrumental=False)
    assert unsung.instrumental is False and unsung.engine_inputs()["instrumental"] is False
    # Blank lyrics are no lyrics.
    assert validate(prompt="a", lyrics="  \n ", instrumental=True).lyrics is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [("f# MINOR", "F# minor"), ("bb maj", "Bb major"), (" C major ", "C major"),
     ("Eb Minor", "Eb minor")],
)
def test_keys_are_stored_normalised(given, stored):
    assert validate(prompt="a", key=given).key == stored


def test_engine_inputs_leave_out_delivery_and_unset_song_fields():
    plain = validate(prompt="a", format="mp3")
    # Exactly what engines got before the song fields existed.
    assert plain.engine_inputs() == {"prompt": "a", "duration": 60, "genre": None, "seed": None}
    sung = validate(prompt="a", lyrics="la", bpm=90.0, key="d minor", time_signature="3/4",
                    format="opus")
    assert sung.engine_inputs() == {
        "prompt": "a", "duration": 60, "genre": None, "seed": None, "lyrics": "la",
        "instrumental": False, "vocal_language": "en", "bpm": 90, "key": "D minor",
        "time_signature": "3/4"}


def test_a_record_round_trips_to_the_same_params():
    params = validate(prompt="a", lyrics=LYRICS, bpm=128, key="a minor", format="flac")
    assert JobParams.from_record({**params.as_dict(), "status": "queued"}) == params


def test_the_lyrics_limit_counts_what_was_sent():
    """The OpenAPI schema's maxLength applies to the raw string: blank padding counts too."""
    with pytest.raises(InvalidParams, match="lyrics must be a string of at most 3000 characters"):
        JobParams.parse({"prompt": "a", "lyrics": "la\n" + "\n" * 2999})
    assert JobParams.parse({"prompt": "a", "lyrics": "  la  "}).lyrics == "la"


def test_the_documents_not_blank_pattern_is_what_strip_calls_blank():
    # The OpenAPI document's pattern must mean in ECMA-262 (what schema tools
    # run) what strip() means here: explicit code points, no \s-style class,
    # whose members differ between ECMA-262 and Python (U+0085, U+001C-F, U+FEFF).
    import re
    import sys

    text = JobParams.model_json_schema()["properties"]["prompt"]["pattern"]
    assert not re.search(r"\\[sSwWdD]", text), text
    pattern = re.compile(text)
    disagree = [hex(c) for c in range(sys.maxunicode + 1)
                if bool(pattern.search(chr(c))) == chr(c).isspace()]
    assert disagree == []


@pytest.mark.parametrize("blank", ["\u0085\u0085\u0085", "\x1c\x1f", "\u3000 \t"])
def test_a_prompt_of_any_unicode_whitespace_is_empty(blank):
    with pytest.raises(InvalidParams, match="prompt must not be empty"):
        JobParams.parse({"prompt": blank, "duration": 30})
    assert JobParams.parse({"prompt": "\ufeffjazz", "duration": 30}).prompt == "\ufeffjazz"


@pytest.mark.parametrize("exports, message", [
    (["midi", "midi"], "exports must name each export at most once"),
    (["mp4"], "exports must be a list of distinct names from midi, stems"),
    ("midi", "exports must be a list of distinct names from midi, stems"),
    (None, "exports must be a list of distinct names from midi, stems"),
])
def test_bad_exports_are_refused(exports, message):
    with pytest.raises(InvalidParams) as err:
        JobParams.parse({"prompt": "x", "exports": exports})
    assert str(err.value) == message and err.value.status == 422


def test_exports_are_delivery_not_music():
    plain = JobParams.parse({"prompt": "x", "seed": 1})
    asked = JobParams.parse({"prompt": "x", "seed": 1, "exports": ["stems", "midi"]})
    assert asked.exports == ["stems", "midi"]
    assert asked.engine_inputs() == plain.engine_inputs()
    # none asked: the record (and so the job view) is exactly as before
    assert "exports" not in plain.as_dict() and asked.as_dict()["exports"] == ["stems", "midi"]
    assert JobParams.from_record(asked.as_dict()) == asked
