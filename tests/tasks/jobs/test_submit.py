"""Flower's view of a job and the job-id shape (no Redis needed)."""

from __future__ import annotations

import ast

from tasks.jobs.store import JOB_ID_RE
from tasks.jobs.submit import kwargs_repr, new_job_id


def test_job_ids_are_url_safe_and_unique():
    ids = {new_job_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(JOB_ID_RE.match(i) for i in ids)


def test_flower_kwargs_are_short_and_readable():
    shown = ast.literal_eval(kwargs_repr({"prompt": "p" * 300, "duration": 30, "genre": None,
                                          "seed": 5}))
    assert shown == {"prompt": "p" * 59 + "…", "duration": 30, "seed": 5}


def test_flower_shows_lyrics_cut_short():
    lyrics = "[verse]\n" + "la " * 500
    shown = ast.literal_eval(kwargs_repr({"prompt": "p", "lyrics": lyrics, "bpm": 90,
                                          "instrumental": False, "format": "mp3"}))
    assert len(shown["lyrics"]) == 60 and shown["lyrics"].endswith("…")
    assert lyrics.startswith(shown["lyrics"][:-1])
    assert (shown["bpm"], shown["instrumental"], shown["format"]) == (90, False, "mp3")
