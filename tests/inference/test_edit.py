"""The splice every engine's edits go through (inference/edit.py)."""

from __future__ import annotations

import numpy as np

from inference.edit import (
    as_written,
    boundary_windows,
    match_gain,
    read_master,
    segments_for,
    splice,
)
from inference.wav import write_wav

SR = 48_000


def _noise(seconds: float, level: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-level, level, (int(seconds * SR), 2))).astype(np.float32)


def test_outside_the_new_range_is_the_source_bit_for_bit(tmp_path):
    source = as_written(_noise(10, 0.5, 1))
    new = _noise(10, 0.5, 2)
    out = splice(source, new, 2 * SR, 5 * SR, SR // 2, gain=0.8)
    assert np.array_equal(out[: 2 * SR], source[: 2 * SR])
    assert np.array_equal(out[5 * SR:], source[5 * SR:])
    # ... and still after a round trip through the 16-bit file.
    write_wav(tmp_path / "a.wav", out)
    back = read_master(tmp_path / "a.wav")
    assert np.array_equal(back[: 2 * SR], source[: 2 * SR])
    assert np.array_equal(back[5 * SR:], source[5 * SR:])
    # Past the crossfades, the new part scaled by the gain.
    mid = slice(3 * SR, 4 * SR)
    assert np.allclose(out[mid], new[mid] * np.float32(0.8))


def test_crossfades_are_equal_power_and_inside_the_new_range():
    n, fade = SR, 1000
    ones, zeros = np.ones((n, 2), np.float32), np.zeros((n, 2), np.float32)
    falling = splice(ones, zeros, 100, 5000, fade)  # source fades out at the start
    rising = splice(zeros, ones, 100, 5000, fade)  # new part fades in
    power = falling[100:1100, 0] ** 2 + rising[100:1100, 0] ** 2
    assert np.allclose(power, 1.0, atol=1e-5)
    assert falling[99, 0] == 1.0 and rising[1100, 0] == 1.0
    # At the end of the range the new part hands back to the source.
    back = splice(ones, zeros, 100, 5000, fade)
    assert back[4999, 0] > 0.99 and back[5000, 0] == 1.0 and back[3000, 0] == 0.0


def test_an_extension_is_as_long_as_the_new_render():
    source = _noise(4, 0.3, 3)
    new = _noise(9, 0.3, 4)
    out = splice(source, new, 3 * SR, 9 * SR, 1200)
    assert out.shape == new.shape
    assert np.array_equal(out[: 3 * SR], source[: 3 * SR])
    # past the source's end the fade starts from silence, then the new part alone
    source_end = splice(source, new, 4 * SR, 9 * SR, 1200)
    assert np.allclose(source_end[4 * SR + 1200:], new[4 * SR + 1200:])


def test_loudness_is_matched_on_the_kept_audio_around_the_range():
    source = _noise(10, 0.5, 5)
    quiet = source * np.float32(0.5)  # the engine's render, 6 dB down
    windows = boundary_windows(3 * SR, 6 * SR, 10 * SR, 10 * SR)
    assert windows == [(0, 3 * SR), (6 * SR, 10 * SR)]
    assert abs(match_gain(source, quiet, windows) - 2.0) < 1e-3
    # capped at 12 dB, and silent renders are left alone
    assert abs(match_gain(source, quiet * np.float32(0.05), windows) - 10 ** 0.6) < 1e-3
    assert match_gain(source, np.zeros_like(source), windows) == 1.0


def test_segments():
    assert segments_for("repaint", 30, (0.0, 5.5)) == [
        {"start": 0.0, "end": 5.5, "kind": "new"}, {"start": 5.5, "end": 30.0, "kind": "kept"}]
