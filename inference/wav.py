"""16-bit PCM WAV encoding of an engine's float output, in bounded memory."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np

from inference.contract import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH

# Convert in blocks so a 120 s render never needs a second full-size copy.
_BLOCK_FRAMES = SAMPLE_RATE * 5
_HEADER_BYTES = 44


def wav_size(frames: int) -> int:
    """Bytes of the file write_wav makes from `frames` frames."""
    return _HEADER_BYTES + frames * CHANNELS * SAMPLE_WIDTH


def write_wav(
    dest: str | Path | BinaryIO, audio: np.ndarray, sample_rate: int = SAMPLE_RATE
) -> None:
    """Write `audio` to a path or to an open binary file (left open)."""
    if audio.ndim != 2 or audio.shape[1] != CHANNELS:
        raise ValueError(f"`audio` must have shape (frames, {CHANNELS}), got {audio.shape}")
    target = str(dest) if isinstance(dest, str | Path) else dest
    with wave.open(target, "wb") as out:
        out.setnchannels(CHANNELS)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(sample_rate)
        # Known up front, so the header is written once and never patched
        # (a file object need not be seekable).
        out.setnframes(len(audio))
        for start in range(0, len(audio), _BLOCK_FRAMES):
            block = np.clip(audio[start : start + _BLOCK_FRAMES], -1.0, 1.0)
            out.writeframesraw((np.round(block * 32767.0)).astype("<i2").tobytes())
