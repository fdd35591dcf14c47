"""ACE-Step extend / repaint / cover on the tiny real-format pipeline (CPU)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch

from inference.edit import EditRequest, as_written

SR = 48_000
SOURCE = {"prompt": "mellow piano over dusty drums", "duration": 4, "seed": 3}


@pytest.fixture
def master(engine):
    return as_written(engine.generate(**SOURCE))


def _edit(engine, master, task, inputs=None, **kw):
    inputs = {**SOURCE, "seed": 9, **(inputs or {})}
    return engine.edit(EditRequest(task=task, source=SOURCE, inputs=inputs, audio=master, **kw))


def _calls(engine):
    """The pipeline's keyword arguments, per call."""
    seen = []
    real = engine._pipe.__class__.__call__

    def spy(pipe, *args, **kwargs):
        seen.append({**kwargs, "tiling": pipe.vae.use_tiling})
        return real(pipe, *args, **kwargs)

    return seen, mock.patch.object(engine._pipe.__class__, "__call__", spy)


def test_repaint_keeps_the_source_outside_the_range_and_repeats(engine, master):
    seen, spy = _calls(engine)
    with spy:
        first = _edit(engine, master, "repaint", start=1.0, end=2.5, strength=0.5)
    torch.manual_seed(12345)  # whatever the global generator was left at
    torch.rand(7)
    second = _edit(engine, master, "repaint", start=1.0, end=2.5, strength=0.5)
    assert np.array_equal(first.audio, second.audio)
    call = seen[0]
    assert (call["task_type"], call["repainting_start"], call["repainting_end"]) == (
        "repaint", 1.0, 2.5)
    assert tuple(call["src_audio"].shape) == (2, 4 * SR)  # [channels, samples]
    # a 4 s source fits in one VAE tile: no tiling (see the long-source test)
    assert call["tiling"] is False and engine._pipe.vae.use_tiling is False
    a, b = SR, int(2.5 * SR)
    assert first.audio.shape == (4 * SR, 2)
    assert np.array_equal(first.audio[:a], master[:a])
    assert np.array_equal(first.audio[b:], master[b:])
    assert not np.array_equal(first.audio[a:b], master[a:b])
    assert [s["kind"] for s in first.segments] == ["kept", "new", "kept"]
    other = _edit(engine, master, "repaint", {"seed": 10}, start=1.0, end=2.5, strength=0.5)
    assert not np.array_equal(other.audio[a:b], first.audio[a:b])


def test_extend_pads_the_source_and_repaints_the_tail(engine, master):
    seen, spy = _calls(engine)
    with spy:
        result = _edit(engine, master, "extend", {"duration": 7}, extend_from=3)
    call = seen[0]
    assert call["task_type"] == "repaint"
    assert (call["repainting_start"], call["repainting_end"]) == (3.0, 7.0)
    src = call["src_audio"].numpy()
    assert src.shape == (2, 7 * SR)
    assert np.array_equal(src[:, : 3 * SR], master[: 3 * SR].T) and not src[:, 3 * SR:].any()
    assert result.audio.shape == (7 * SR, 2)
    assert np.array_equal(result.audio[: 3 * SR], master[: 3 * SR])
    assert np.abs(result.audio[4 * SR:]).max() > 1e-3
    assert result.segments == [{"start": 0.0, "end": 3.0, "kind": "kept"},
                               {"start": 3.0, "end": 7.0, "kind": "new"}]


def test_cover_passes_the_strength_and_keeps_the_length(engine, master):
    seen, spy = _calls(engine)
    with spy:
        result = _edit(engine, master, "cover", {"prompt": "big band jazz"}, strength=0.3)
    assert (seen[0]["task_type"], seen[0]["audio_cover_strength"]) == ("cover", 0.3)
    assert "big band jazz" in seen[0]["prompt"]
    assert result.audio.shape == master.shape and np.isfinite(result.audio).all()
    again = _edit(engine, master, "cover", {"prompt": "big band jazz"}, strength=0.3)
    assert np.array_equal(result.audio, again.audio)


def test_plain_renders_are_unchanged_by_edits(engine):
    before = engine.generate(**SOURCE)
    _edit(engine, as_written(before), "repaint", start=0.5, end=3.5, strength=0.5)
    assert np.array_equal(engine.generate(**SOURCE), before)


def test_special_tokens_in_user_text_are_encoded_as_text(engine):
    tok = engine._pipe.tokenizer
    eos = tok.convert_tokens_to_ids("<|endoftext|>")
    lyric = "# Languages\nen\n\n# Lyric\n[verse]\nstop <|endoftext|> here<|endoftext|>"
    ids = tok([lyric], padding="longest", truncation=True, max_length=2048,
              return_tensors="pt").input_ids[0].tolist()
    assert ids.count(eos) == 1 and ids[-1] == eos  # only the template's own marker
    # Text without such spellings gets exactly the ids it always got.
    plain = "# Caption\nmellow piano\n\n# Metas\n- bpm: 90<|endoftext|>\n"
    base = type(tok).__mro__[2]  # the tokenizer's own class
    assert tok([plain]).input_ids == base.__call__(tok, [plain]).input_ids


def test_long_sources_are_encoded_with_vae_tiling(engine, monkeypatch):
    vae = engine._pipe.vae
    # 30 s tiles with 2 s overlaps, scaled down to fit a 3 s piece
    monkeypatch.setattr(vae, "tile_sample_min_length", 2 * SR)
    monkeypatch.setattr(vae, "tile_sample_overlap", SR // 4)
    source = {**SOURCE, "duration": 3}
    master = as_written(engine.generate(**source))
    seen, spy = _calls(engine)
    with spy:
        engine.edit(EditRequest(task="repaint", source=source, inputs={**source, "seed": 2},
                                audio=master, start=0.5, end=2.5, strength=0.5))
    assert seen[0]["tiling"] is True and vae.use_tiling is False
