"""The engine protocol shared by every music engine.

An engine is set up once per worker process (``setup``) and then renders one
job at a time (``generate``). Engines know nothing of HTTP, queues or storage.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

SAMPLE_RATE = 48_000
CHANNELS = 2
MAX_PROMPT_CHARS = 500
MAX_GENRE_CHARS = 50
# Engines accept any whole number of seconds in this range; the public API
# narrows it to 30/60/120. Short renders keep tests and benches quick.
MIN_DURATION = 1
MAX_DURATION = 600
MAX_SEED = 2**31 - 1

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
    ) -> np.ndarray: ...

    def understand(
        self, *, prompt: str, duration: int, genre: str | None = None, seed: int | None = None
    ) -> dict: ...

    def describe(self) -> dict: ...


def check_inputs(prompt, duration, genre=None, seed=None) -> None:
    """Raise ValueError naming the first bad argument (diffusers style)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("`prompt` must be a non-empty string")
    if len(prompt.strip()) > MAX_PROMPT_CHARS:
        raise ValueError(f"`prompt` must be at most {MAX_PROMPT_CHARS} characters")
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise ValueError(f"`duration` must be an integer number of seconds, got {duration!r}")
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise ValueError(f"`duration` must be between {MIN_DURATION} and {MAX_DURATION} seconds")
    if genre is not None and (not isinstance(genre, str) or len(genre) > MAX_GENRE_CHARS):
        raise ValueError(f"`genre` must be a string of at most {MAX_GENRE_CHARS} characters")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise ValueError(f"`seed` must be an integer between 0 and {MAX_SEED}")


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
