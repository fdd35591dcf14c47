"""Music engines behind one small protocol.

    from inference import get_engine
    engine = get_engine("composer")   # "composer" | "acestep" | "auto" | "fixed"
    engine.setup()
    audio = engine.generate(prompt="...", duration=30)   # float32 (frames, 2) at 48 kHz

Engine modules are imported lazily so that importing this package never pulls
in torch (nor numpy: see __getattr__).
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import TYPE_CHECKING

from inference.contract import CHANNELS, SAMPLE_RATE, check_inputs
from inference.errors import EngineError, EngineSetupError, InvalidAudioError, OutOfMemoryError
from inference.settings import ENGINE_NAMES, EngineSettings

if TYPE_CHECKING:
    from inference.base import Engine

__all__ = [
    "CHANNELS",
    "SAMPLE_RATE",
    "Engine",
    "EngineError",
    "EngineSetupError",
    "InvalidAudioError",
    "OutOfMemoryError",
    "check_audio",
    "check_inputs",
    "get_engine",
    "resolve_name",
    "ENGINE_NAMES",
]

# name -> "module:factory"
_REGISTRY = {
    "composer": "inference.composer:ComposerEngine",
    "acestep": "inference.acestep:AceStepEngine",
    "fixed": "inference.fixed:FixedLatencyEngine",
}


def resolve_name(name: str | None = None, settings: EngineSettings | None = None) -> str:
    """Map "auto"/None to a concrete engine name using the engine settings."""
    settings = settings or EngineSettings.from_env()
    if name is not None:
        settings = replace(settings, engine=name.strip().lower())
        if settings.engine not in ENGINE_NAMES:
            raise ValueError(
                f"`ENGINE` must be one of {', '.join(ENGINE_NAMES)}, got {settings.engine!r}"
            )
    return settings.engine_name()


def __getattr__(name: str):
    # numpy-backed names load on first use, so the API (which only needs the
    # contract and the errors) never imports numpy.
    if name in ("Engine", "check_audio"):
        from inference import base

        return getattr(base, name)
    raise AttributeError(f"module 'inference' has no attribute {name!r}")


def get_engine(name: str | None = None, settings: EngineSettings | None = None) -> Engine:
    settings = settings or EngineSettings.from_env()
    name = resolve_name(name, settings)
    module_name, _, attr = _REGISTRY[name].partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    if name == "fixed":
        return factory(latency_ms=settings.fixed_latency_ms, steps=settings.fixed_steps)
    return factory()
