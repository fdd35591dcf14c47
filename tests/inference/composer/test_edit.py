"""The composer's extend, repaint and cover (inference/composer/edit.py)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.composer import ComposerEngine
from inference.composer.edit import _extended, _plan_of
from inference.composer.engine import _bars, _notes_for, _piece_key, _rng
from inference.edit import EditRequest, as_written
from inference.errors import EngineError

SR = 48_000
SOURCE = {"prompt": "upbeat pop with piano and drums", "duration": 30, "seed": 11}


@pytest.fixture(scope="module")
def engine():
    return ComposerEngine()


@pytest.fixture(scope="module")
def master(engine):
    return as_written(engine.generate(**SOURCE))


def _edit(engine, master, task, inputs=None, **kw):
    inputs = {**SOURCE, "seed": 5, **(inputs or {})}
    return engine.edit(EditRequest(task=task, source=SOURCE, inputs=inputs, audio=master, **kw))


def test_extend_keeps_the_plan_and_continues_the_form():
    source = _plan_of({**SOURCE, "duration": 60})
    longer = _extended(source, 50, 110)
    assert longer.parts == source.parts and longer.reading == source.reading
    assert longer.meter == source.meter
    bar = source.meter.beats * 60 / source.reading.tempo
    cut = int(np.ceil(50 / bar))
    # the source's sections up to the cut, then verse/chorus and an outro to the end
    assert [s for s in longer.sections if s.start_bar + s.bars <= cut] == [
        s for s in source.sections if s.start_bar + s.bars <= cut]
    after = [s.kind for s in longer.sections if s.start_bar >= cut]
    assert after[-1] == "outro" and after[-2] == "chorus" and "verse" in after
    assert sum(s.bars for s in longer.sections) * bar >= 110 > (
        sum(s.bars for s in longer.sections) - 1) * bar


def test_a_returning_chorus_reuses_its_melody():
    src = {**SOURCE, "duration": 60}
    plan = _extended(_plan_of(src), 50, 110)
    key = _piece_key(src["prompt"], None)
    bars = _bars(plan, 11, key)
    i, part = next((i, p) for i, p in enumerate(plan.parts) if p.role == "melody")
    notes = _notes_for(plan, part, bars, _rng(11, key, f"notes:{i}:melody"))
    beats = plan.meter.beats
    rhythms = set()
    for s in plan.sections:
        if s.kind == "chorus":
            t0 = s.start_bar * beats
            rhythms.add(tuple(round(n[0] - t0, 3) for n in notes if t0 <= n[0] < t0 + 2 * beats))
    assert len([s for s in plan.sections if s.kind == "chorus"]) >= 3
    assert len(rhythms) == 1 and next(iter(rhythms))


def test_extend_renders_the_new_tail_and_keeps_the_head(engine, master):
    result = _edit(engine, master, "extend", {"duration": 54}, extend_from=24)
    assert result.audio.shape == (54 * SR, 2)
    assert np.array_equal(result.audio[: 24 * SR], master[: 24 * SR])
    assert result.understood["tempo"] == engine.understand(**SOURCE)["tempo"]
    # No fade to silence: the last two seconds before the release still play.
    tail = np.abs(result.audio[-3 * SR: -SR]).mean()
    assert tail > 0.2 * np.abs(result.audio[30 * SR: 50 * SR]).mean()


def test_extend_refuses_a_new_prompt(engine, master):
    with pytest.raises(EngineError, match="leave prompt, genre and lyrics"):
        _edit(engine, master, "extend", {"duration": 54, "prompt": "jazz"}, extend_from=24)


def test_repaint_snaps_to_bars_and_is_deterministic(engine, master):
    a = _edit(engine, master, "repaint", start=5.2, end=12.1, strength=0.5)
    b = _edit(engine, master, "repaint", start=5.2, end=12.1, strength=0.5)
    assert np.array_equal(a.audio, b.audio)
    bar = 4 * 60 / engine.understand(**SOURCE)["tempo"]
    s, e = a.snapped["start"], a.snapped["end"]
    assert s <= 5.2 < s + bar and e - bar < 12.1 <= e
    assert abs(s / bar - round(s / bar)) < 1e-3 and abs(e / bar - round(e / bar)) < 1e-3
    i, j = round(s * SR), round(e * SR)
    assert np.array_equal(a.audio[:i], master[:i]) and np.array_equal(a.audio[j:], master[j:])
    assert not np.allclose(a.audio[i:j], master[i:j], atol=1e-3)
    other = _edit(engine, master, "repaint", {"seed": 6}, start=5.2, end=12.1, strength=0.5)
    assert not np.array_equal(other.audio, a.audio)


def test_cover_keeps_form_key_tempo_and_changes_the_band(engine, master):
    result = _edit(engine, master, "cover", {"prompt": "smooth jazz with saxophone"},
                   strength=0.0)
    source = engine.understand(**SOURCE)
    got = result.understood
    assert (got["tempo"], got["key"], got["mode"]) == (
        source["tempo"], source["key"], source["mode"])
    assert [s["name"] for s in got["sections"]] == [s["name"] for s in source["sections"]]
    assert got["genre"] == "jazz" and "saxophone" in got["instruments"]
    assert result.audio.shape == master.shape
    kept_all = _edit(engine, master, "cover", {"prompt": "smooth jazz with saxophone"},
                     strength=1.0)
    # strength 1: every accompaniment part of the source stays; the lead is the new one
    band = {p.instrument for p in _plan_of(SOURCE).parts if p.role != "melody"}
    assert band <= set(kept_all.understood["instruments"])
    assert not band <= set(got["instruments"])
