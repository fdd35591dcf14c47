"""16-bit PCM WAV encoding of an engine's float output, in bounded memory."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from inference.contract import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH

# Convert in blocks so a 120 s render never needs a second full-size copy.
_BLOCK_FRAMES = SAMPLE_RATE * 5


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    if audio.ndim != 2 or audio.shape[1] != CHANNELS:
        raise ValueError(f"`audio` must have shape (frames, {CHANNELS}), got {audio.shape}")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(CHANNELS)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(sample_rate)
        for start in range(0, len(audio), _BLOCK_FRAMES):
            block = np.clip(audio[start : start + _BLOCK_FRAMES], -1.0, 1.0)
            out.writeframes((np.round(block * 32767.0)).astype("<i2").tobytes())
