"""Environment settings for the ACE-Step engine, parsed and checked up front.

Everything here is pure Python on purpose: it runs in the Celery parent before
the worker forks, where touching CUDA would poison the children.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from inference.acestep.layout import check_pipeline_dir
from inference.base import EngineSetupError

# Recommended ACE-Step 1.5 *turbo* defaults. Sources: diffusers 0.42.1
# docs/source/en/api/pipelines/ace_step.md ("Variants" table: turbo -> 8 steps,
# shift 3.0, guidance "ignored") and AceStepPipeline.__call__, which coerces
# guidance_scale to 1.0 for turbo checkpoints because guidance is distilled into
# the weights; ACE-Step-1.5 docs/en/INFERENCE.md also says "Recommended 3.0 for
# turbo models" for shift and "Turbo model: ... recommended 8" for steps.
DEFAULT_STEPS = 8
DEFAULT_SHIFT = 3.0
DEFAULT_GUIDANCE = 1.0

DTYPES = ("float32", "float16", "bfloat16")
_DTYPE_ALIASES = {
    "fp32": "float32",
    "float": "float32",
    "fp16": "float16",
    "half": "float16",
    "bf16": "bfloat16",
}
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


class SettingsError(EngineSetupError, ValueError):
    """A bad ACESTEP_* value: a setup error (worker refuses jobs) and a ValueError."""


@dataclass(frozen=True)
class AceStepSettings:
    model_dir: Path
    model_id: str
    device: str | None  # None: decided in setup() ("cuda" if available, else "cpu")
    dtype: str | None  # None: bfloat16 on CUDA, float32 on CPU
    cpu_offload: bool
    steps: int
    shift: float
    guidance: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AceStepSettings:
        env = os.environ if env is None else env
        model_dir = check_model_dir(env.get("ACESTEP_MODEL_DIR"))
        return cls(
            model_dir=model_dir,
            model_id=model_id(model_dir),
            device=_device(env.get("ACESTEP_DEVICE")),
            dtype=_dtype(env.get("ACESTEP_DTYPE")),
            cpu_offload=_flag(env, "ACESTEP_CPU_OFFLOAD"),
            steps=_number(env, "ACESTEP_STEPS", DEFAULT_STEPS, int, minimum=1, maximum=200),
            shift=_number(env, "ACESTEP_SHIFT", DEFAULT_SHIFT, float, minimum=1e-3, maximum=100.0),
            guidance=_number(env, "ACESTEP_GUIDANCE", DEFAULT_GUIDANCE, float, 0.0, 100.0),
        )


def check_model_dir(raw: str | None) -> Path:
    """Fail fast, naming the directory and what is missing, before any weights load."""
    if raw is None or not raw.strip():
        raise EngineSetupError(
            "ACESTEP_MODEL_DIR is not set: point it at a diffusers-format ACE-Step 1.5 "
            "pipeline directory (the one containing model_index.json)"
        )
    path = Path(raw.strip()).expanduser()
    check_pipeline_dir(path)
    return path


def model_id(model_dir: Path) -> str:
    """Directory name plus a short hash of the files that define the model."""
    digest = hashlib.sha256()
    for rel in ("model_index.json", "transformer/config.json"):
        file = model_dir / rel
        if file.is_file():
            digest.update(rel.encode() + b"\0" + file.read_bytes())
    return f"{model_dir.resolve().name}@{digest.hexdigest()[:10]}"


def _device(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower()
    if not _DEVICE.match(value):
        raise SettingsError(f"ACESTEP_DEVICE must be 'cpu', 'cuda' or 'cuda:N', got {raw!r}")
    return value


def _dtype(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower().removeprefix("torch.")
    value = _DTYPE_ALIASES.get(value, value)
    if value not in DTYPES:
        raise SettingsError(f"ACESTEP_DTYPE must be one of {', '.join(DTYPES)}, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (env.get(name) or "0").strip().lower()
    if value in ("0", "false", "no", "off", ""):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 0 or 1, got {env.get(name)!r}")


def _number(env, name, default, kind, minimum, maximum):
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if isinstance(value, float) and not math.isfinite(value) or not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {raw!r}")
    return value
