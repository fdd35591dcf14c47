"""The engine layer's own settings, read from the environment in one place.

Pure Python (it runs in the Celery parent before fork). ACE-Step's variables
are parsed by inference/acestep/settings.py, the one engine that needs more.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from inference.errors import EngineSetupError

ENGINE_NAMES = ("auto", "composer", "acestep", "fixed")


class EngineSettingsError(EngineSetupError, ValueError):
    """A bad engine variable; the message names it."""


@dataclass(frozen=True)
class EngineSettings:
    engine: str = "auto"
    acestep_model_dir: str = ""
    fixed_latency_ms: float = 50.0
    fixed_steps: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EngineSettings:
        env = os.environ if env is None else env
        engine = (env.get("ENGINE") or "auto").strip().lower()
        if engine not in ENGINE_NAMES:
            raise EngineSettingsError(
                f"`ENGINE` must be one of {', '.join(ENGINE_NAMES)}, got {engine!r}"
            )
        return cls(
            engine=engine,
            acestep_model_dir=(env.get("ACESTEP_MODEL_DIR") or "").strip(),
            fixed_latency_ms=_number(env, "FIXED_ENGINE_MS", cls.fixed_latency_ms, float, 0),
            fixed_steps=_number(env, "FIXED_ENGINE_STEPS", cls.fixed_steps, int, 1),
        )

    def engine_name(self) -> str:
        """The concrete engine: "auto" is ACE-Step when a model directory is configured."""
        if self.engine == "auto":
            return "acestep" if self.acestep_model_dir else "composer"
        return self.engine


def _number(env: Mapping[str, str], name: str, default, kind, minimum):
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise EngineSettingsError(f"`{name}` must be a number, got {raw!r}") from None
    if value < minimum:
        raise EngineSettingsError(f"`{name}` must be at least {minimum}, got {raw!r}")
    return value
