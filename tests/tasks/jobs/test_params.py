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
