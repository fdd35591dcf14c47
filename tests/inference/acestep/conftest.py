"""Fixtures: one tiny random-weight ACE-Step pipeline per session, saved to disk."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Make `inference` and `tests.support` importable however pytest is invoked.
_ROOT = Path(__file__).resolve().parents[3]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.support.tiny_acestep import save_tiny_pipeline  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("acestep") / "tiny-acestep-turbo")


@pytest.fixture
def acestep_env(monkeypatch, tiny_model_dir):
    """The worker's environment: ENGINE picks acestep, the model dir is the tiny one."""
    monkeypatch.setenv("ENGINE", "acestep")
    monkeypatch.setenv("ACESTEP_MODEL_DIR", str(tiny_model_dir))
    for name in ("DEVICE", "DTYPE", "CPU_OFFLOAD", "STEPS", "SHIFT", "GUIDANCE"):
        monkeypatch.delenv(f"ACESTEP_{name}", raising=False)
    return monkeypatch


@pytest.fixture
def engine(acestep_env):
    """A set-up engine, built exactly as the worker builds it."""
    from inference import get_engine

    engine = get_engine()
    engine.setup()
    return engine
