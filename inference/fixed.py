"""A fixed-latency engine for tests and benchmarks.

It sleeps ``FIXED_ENGINE_MS`` milliseconds (spread over ``FIXED_ENGINE_STEPS``
progress steps) and returns quiet seeded noise, so the service's own costs can
be measured without an engine's speed hiding them. A prompt containing
``fail:oom``, ``fail:invalid`` or ``fail:crash`` makes it fail the way a real
engine can, so failure paths are testable end to end.
"""

from __future__ import annotations

import time

import numpy as np

from inference.base import (
    SAMPLE_RATE,
    InvalidAudioError,
    OutOfMemoryError,
    check_inputs,
    resolve_seed,
)
from inference.settings import EngineSettings


class FixedLatencyEngine:
    name = "fixed"
    sample_rate = SAMPLE_RATE

    def __init__(self, latency_ms: float | None = None, steps: int | None = None) -> None:
        defaults = EngineSettings()  # get_engine() passes the configured values
        self.latency_ms = float(defaults.fixed_latency_ms if latency_ms is None else latency_ms)
        self.steps = int(defaults.fixed_steps if steps is None else steps)
        if self.latency_ms < 0 or self.steps < 1:
            raise ValueError("`FIXED_ENGINE_MS` must be >= 0 and `FIXED_ENGINE_STEPS` >= 1")

    def setup(self) -> None:
        pass

    def describe(self) -> dict:
        return {"engine": self.name, "model": f"fixed-{self.latency_ms:g}ms"}

    def understand(self, *, prompt, duration, genre=None, seed=None, **song) -> dict:
        check_inputs(prompt, duration, genre, seed, **song)
        # Only the song fields a request gave, so a plain request's answer stays
        # exactly {"latency_ms": ...}; the output never depends on them.
        return {"latency_ms": self.latency_ms, **{k: v for k, v in song.items() if v is not None}}

    def generate(
        self, *, prompt, duration, genre=None, seed=None, progress=None, **song
    ) -> np.ndarray:
        check_inputs(prompt, duration, genre, seed, **song)
        rng = np.random.default_rng(resolve_seed(seed))
        for step in range(self.steps):
            time.sleep(self.latency_ms / 1000 / self.steps)
            if progress is not None:
                progress((step + 1) / self.steps)
        if "fail:oom" in prompt:
            raise OutOfMemoryError()
        if "fail:invalid" in prompt:
            raise InvalidAudioError()
        if "fail:crash" in prompt:
            raise RuntimeError("simulated engine crash with internal details")
        # One second of seeded noise, repeated: the engine's own CPU cost stays
        # negligible so benchmarks measure the service, not the noise generator.
        second = rng.standard_normal((SAMPLE_RATE, 2), dtype=np.float32) * np.float32(0.05)
        return np.tile(second, (duration, 1))
