"""The engine protocol shared by every music engine.

An engine is set up once per worker process (``setup``) and then renders one
job at a time (``generate``). Engines know nothing of HTTP, queues or storage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

# Re-exported: engines import their contract from here.
from inference.contract import (  # noqa: F401
    CHANNELS,
    MAX_DURATION,
    MAX_GENRE_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MIN_DURATION,
    SAMPLE_RATE,
    check_inputs,
    resolve_seed,
)
from inference.errors import (  # noqa: F401
    EngineError,
    EngineSetupError,
    InvalidAudioError,
    OutOfMemoryError,
)

Progress = Callable[[float], None]


@runtime_checkable
class Engine(Protocol):
    name: str
    sample_rate: int

    def setup(self) -> None: ...

    def generate(
        self,
        *,
        prompt: str,
        duration: int,
        genre: str | None = None,
        seed: int | None = None,
        progress: Progress | None = None,
        **song,  # lyrics, instrumental, vocal_language, bpm, key, time_signature
    ) -> np.ndarray: ...

    def understand(
        self,
        *,
        prompt: str,
        duration: int,
        genre: str | None = None,
        seed: int | None = None,
        **song,  # the same song fields as generate
    ) -> dict: ...

    def describe(self) -> dict: ...


def check_audio(audio: np.ndarray, duration: int) -> np.ndarray:
    """Validate an engine's output; a bad render must never be stored."""
    expected = (duration * SAMPLE_RATE, CHANNELS)
    if audio.shape != expected:
        raise InvalidAudioError(f"model produced audio of shape {audio.shape}, expected {expected}")
    # max/min rather than abs().max(): no full-size temporary (46 MB at 120 s).
    peak = max(float(audio.max(initial=0.0)), -float(audio.min(initial=0.0)))
    if not np.isfinite(audio).all() or peak < 1e-6:
        raise InvalidAudioError()
    return np.ascontiguousarray(audio, dtype=np.float32)
