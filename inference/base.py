"""The engine protocol shared by every music engine.

An engine is set up once per worker process (``setup``) and then renders one
job at a time (``generate``). Engines know nothing of HTTP, queues or storage.
"""

from __future__ import annotations

import random
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
)

Progress = Callable[[float], None]


class EngineError(RuntimeError):
    """A job-level failure whose message is safe to show to the user."""


class EngineSetupError(RuntimeError):
    """The engine cannot start; the worker must refuse to take jobs."""


class OutOfMemoryError(EngineError):
    def __init__(self, message: str = "out of GPU memory") -> None:
        super().__init__(message)


class InvalidAudioError(EngineError):
    def __init__(self, message: str = "model produced invalid audio") -> None:
        super().__init__(message)


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


def resolve_seed(seed: int | None) -> int:
    return random.SystemRandom().randint(0, MAX_SEED) if seed is None else seed


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
