"""Compressed copies of a rendered WAV (FLAC, MP3, Ogg Opus) and a waveform overview.

libsndfile (through `soundfile`) does all four formats. Encoding streams the
source in blocks, so a 120 s piece never needs a second full-size copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from inference.contract import SAMPLE_RATE

PEAKS = 300
_BLOCK_FRAMES = SAMPLE_RATE * 5

# format -> (libsndfile container, subtype, options). compression_level runs
# 0 (best quality / least compression) to 1. MP3: LAME's VBR at 0.5 lands
# near 130-190 kbit/s for music; Opus at 0.85 is about 90 kbit/s stereo, well
# past transparent for Opus; FLAC is lossless whatever the level, 0.5 is its
# usual speed/size middle.
ENCODINGS = {
    "flac": ("FLAC", "PCM_16", {"compression_level": 0.5}),
    "mp3": ("MP3", "MPEG_LAYER_III", {"bitrate_mode": "VARIABLE", "compression_level": 0.5}),
    "opus": ("OGG", "OPUS", {"compression_level": 0.85}),
}


def encode_file(source: str | Path, dest: str | Path, fmt: str) -> None:
    """Encode the WAV at `source` into `dest` as `fmt` (a key of ENCODINGS)."""
    if fmt not in ENCODINGS:
        raise ValueError(f"`fmt` must be one of {', '.join(ENCODINGS)}, got {fmt!r}")
    container, subtype, options = ENCODINGS[fmt]
    with sf.SoundFile(str(source)) as src:
        if src.samplerate != SAMPLE_RATE:  # Opus only takes 48 kHz (and its divisors)
            raise ValueError(f"source must be {SAMPLE_RATE} Hz, got {src.samplerate}")
        with sf.SoundFile(
            str(dest), "w", samplerate=src.samplerate, channels=src.channels,
            format=container, subtype=subtype, **options,
        ) as out:
            for block in src.blocks(blocksize=_BLOCK_FRAMES, dtype="float32"):
                out.write(block)


def peaks(audio: np.ndarray, count: int = PEAKS) -> list[int]:
    """Max |sample| over both channels of `count` equal slices, as integers 0-100."""
    if audio.ndim != 2 or len(audio) == 0:
        raise ValueError(f"`audio` must have shape (frames, channels), got {audio.shape}")
    # Channel by channel: a row-wise max over (frames, 2) walks rows of two
    # and costs ~40x more than element-wise maxima of whole columns.
    loudest = np.abs(audio[:, 0])
    for channel in range(1, audio.shape[1]):
        np.maximum(loudest, np.abs(audio[:, channel]), out=loudest)
    bounds = np.linspace(0, len(loudest), count + 1).astype(np.int64)[:-1]
    # Shorter than `count` frames: slices repeat a frame rather than come out empty.
    bounds = np.minimum(bounds, len(loudest) - 1)
    top = np.maximum.reduceat(loudest, bounds)
    return [int(v) for v in np.clip(np.rint(top * 100), 0, 100)]
