"""16-bit PCM WAV encoding of an engine's float output, in bounded memory."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

# Convert in blocks so a 120 s render never needs a second full-size copy.
_BLOCK_FRAMES = 48_000 * 5


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = 48_000) -> None:
    if audio.ndim != 2 or audio.shape[1] != 2:
        raise ValueError(f"`audio` must have shape (frames, 2), got {audio.shape}")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        for start in range(0, len(audio), _BLOCK_FRAMES):
            block = np.clip(audio[start : start + _BLOCK_FRAMES], -1.0, 1.0)
            out.writeframes((np.round(block * 32767.0)).astype("<i2").tobytes())
