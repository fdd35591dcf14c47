"""Editing a finished piece (extend, repaint, cover): the request every engine takes,
and the splice that puts the source's own samples back around what was made anew.

The splice is the guarantee users see: outside the new segments the result *is*
the source (the same 16-bit samples after writing), and each boundary is an
equal-power crossfade, at most one beat long, that lies inside the new part,
after the new part's loudness was matched to the source's around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.contract import SAMPLE_RATE

# inference.wav writes round(x * 32767): reading back with the same scale makes
# write(read(master)) give the master's samples again, bit for bit.
PCM_SCALE = 32767.0
CONTEXT_SECONDS = 4.0  # of kept audio either side of a boundary, for loudness matching
MAX_GAIN_DB = 12.0


@dataclass(frozen=True)
class EditRequest:
    """task: extend | repaint | cover. ``source``: the source job's engine inputs
    (prompt, duration, genre, seed and song fields); ``inputs``: this job's
    (the result's duration included); ``audio``: the source's lossless master."""

    task: str
    source: dict
    inputs: dict
    audio: np.ndarray
    extend_from: int | None = None
    start: float | None = None
    end: float | None = None
    strength: float | None = None

    @property
    def duration(self) -> int:
        return int(self.inputs["duration"])


@dataclass
class EditResult:
    audio: np.ndarray
    segments: list[dict]
    snapped: dict = field(default_factory=dict)  # the range used, where the engine moved it
    understood: dict | None = None  # what the engine made of the edit, where it differs


def read_master(path: str | Path) -> np.ndarray:
    """A lossless master (16-bit WAV or FLAC) as float32 (frames, 2)."""
    import soundfile as sf

    pcm, rate = sf.read(str(path), dtype="int16", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"master is {rate} Hz, not {SAMPLE_RATE}")
    return pcm.astype(np.float32) / np.float32(PCM_SCALE)


def as_written(audio: np.ndarray) -> np.ndarray:
    """A render as read back from the 16-bit file it was stored as (what an engine
    that re-creates its master gives an edit in place of the file)."""
    pcm = np.round(np.clip(audio, -1.0, 1.0) * PCM_SCALE).astype(np.int16)
    return pcm.astype(np.float32) / np.float32(PCM_SCALE)


def segments_for(task: str, length: float, new: tuple[float, float]) -> list[dict]:
    """[{start, end, kind}] for one new range in a result of ``length`` seconds."""
    out = [(0.0, new[0], "kept"), (new[0], new[1], "new"), (new[1], float(length), "kept")]
    return [{"start": round(a, 3), "end": round(b, 3), "kind": k} for a, b, k in out if b > a]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def match_gain(source: np.ndarray, new: np.ndarray, windows: list[tuple[int, int]]) -> float:
    """Gain that gives ``new`` the source's level over ``windows`` (sample ranges both
    hold), capped at +-MAX_GAIN_DB; 1.0 where either is silent."""
    src = np.concatenate([source[a:b].ravel() for a, b in windows]) if windows else source[:0]
    got = np.concatenate([new[a:b].ravel() for a, b in windows]) if windows else new[:0]
    s, g = _rms(src), _rms(got)
    if s < 1e-5 or g < 1e-5:
        return 1.0
    cap = 10 ** (MAX_GAIN_DB / 20)
    return float(min(cap, max(1 / cap, s / g)))


def splice(source: np.ndarray, new: np.ndarray, start: int, end: int, fade: int,
           *, gain: float = 1.0) -> np.ndarray:
    """The source with samples [start, end) taken from ``new`` (scaled by ``gain``).

    ``source`` may be shorter than ``new`` (an extension): the result has
    ``new``'s length, and everything outside [start, end) is the source's own
    samples (an extension's source past ``start`` only fades out under the new
    part). Each inner boundary gets an equal-power crossfade of ``fade`` samples
    inside the new range (none at the piece's very start or end).
    """
    total = len(new)
    out = np.empty_like(new)
    kept_end = min(start, len(source))
    out[:kept_end] = source[:kept_end]
    out[start:end] = new[start:end] * np.float32(gain)
    if end < total:
        out[end:] = source[end:total]
    fade = max(0, min(fade, (end - start) // 2))
    if fade:
        theta = np.linspace(0.0, np.pi / 2, fade, dtype=np.float64)
        rise = np.sin(theta).astype(np.float32)[:, None]
        fall = np.cos(theta).astype(np.float32)[:, None]
        if start > 0:
            a, b = start, start + fade
            before = np.zeros((fade, new.shape[1]), np.float32)
            tail = source[a:b]  # an extension fades out what followed the cut, if any
            before[: len(tail)] = tail
            out[a:b] = before * fall + out[a:b] * rise
        if end < total:
            a, b = end - fade, end
            out[a:b] = out[a:b] * fall + source[a:b] * rise
    return out


def boundary_windows(start: int, end: int, total: int, kept: int) -> list[tuple[int, int]]:
    """Kept audio next to the new range (up to CONTEXT_SECONDS each side), within
    the first ``kept`` samples (what the source still holds)."""
    n = int(CONTEXT_SECONDS * SAMPLE_RATE)
    out = []
    if start > 0:
        out.append((max(0, start - n), min(start, kept)))
    if end < min(total, kept):
        out.append((end, min(end + n, kept)))
    return [(a, b) for a, b in out if b > a]
