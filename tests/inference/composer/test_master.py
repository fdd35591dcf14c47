"""The master bus, checked with independent tools: pyloudnorm (BS.1770-4) and 4x oversampling."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from inference.composer import ComposerEngine, master

ENGINE = ComposerEngine()
SR = 48_000


def _pcm16(audio: np.ndarray) -> np.ndarray:
    return np.round(audio.astype(np.float64) * 32767) / 32767  # as the WAV delivers it


def true_peak_dbtp(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(signal.resample_poly(audio, 4, 1, axis=0)).max()))


@pytest.mark.parametrize("genre", ["rock", "pop", "blues", "lofi", "electronic", "ambient"])
def test_loudness_and_true_peak(genre):
    audio = _pcm16(ENGINE.generate(prompt="a piece of music", genre=genre, duration=30, seed=1))
    assert pyloudnorm.Meter(SR).integrated_loudness(audio) == pytest.approx(-14.0, abs=0.5)
    assert true_peak_dbtp(audio) <= -1.0
    assert np.abs(audio).max() < 1.0  # no clipping


def test_the_meter_agrees_with_pyloudnorm():
    rng = np.random.default_rng(3)
    for level in (0.02, 0.1, 0.3):
        x = (rng.standard_normal((SR * 10, 2)) * level).astype(np.float32)
        x[: SR * 3] *= 0.01  # a quiet stretch the gates must drop
        ours = master.loudness([np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])])
        assert ours == pytest.approx(pyloudnorm.Meter(SR).integrated_loudness(x), abs=0.05)


def _overs() -> tuple[np.ndarray, np.ndarray]:
    """Quiet noise with loud bursts of a tone at fs/4 sampled 45 degrees off its
    crests: every burst's true peak is 3 dB over its samples."""
    rng = np.random.default_rng(5)
    n = SR * 6
    x = (rng.standard_normal(n) * 0.05).astype(np.float32)
    burst = np.tile(np.array([1, 1, -1, -1], np.float32), 24)  # 2 ms
    for s0 in range(0, n - burst.size, SR // 2):
        x[s0:s0 + burst.size] += burst
    return x.copy(), x * np.float32(0.8)


@pytest.mark.parametrize("oversampled", [True, False])
def test_the_limiter_holds_the_true_peak_on_intersample_overs(oversampled, monkeypatch):
    if not oversampled:  # the check can fail: sample peaks alone let the overs through
        monkeypatch.setattr(master, "true_block_peaks", master.block_peaks)
    left, right = _overs()
    master.master(left, right)
    out = np.stack([left, right], axis=1)
    assert np.abs(out).max() <= 10 ** (-1.0 / 20)
    assert (true_peak_dbtp(out) <= -1.0) is oversampled
