"""The engine layer's settings: read once from the environment, errors name the variable."""

from __future__ import annotations

import pytest

import inference
from inference.fixed import FixedLatencyEngine
from inference.settings import EngineSettings, EngineSettingsError


def test_defaults_and_auto():
    assert EngineSettings.from_env({}).engine_name() == "composer"
    assert EngineSettings.from_env({"ACESTEP_MODEL_DIR": "/m"}).engine_name() == "acestep"
    assert EngineSettings.from_env({"ENGINE": " Fixed "}).engine_name() == "fixed"


@pytest.mark.parametrize(
    ("env", "name"),
    [({"ENGINE": "gpt"}, "ENGINE"), ({"FIXED_ENGINE_MS": "fast"}, "FIXED_ENGINE_MS"),
     ({"FIXED_ENGINE_MS": "-1"}, "FIXED_ENGINE_MS"), ({"FIXED_ENGINE_STEPS": "0"},
                                                       "FIXED_ENGINE_STEPS")],
)
def test_bad_values_name_the_variable(env, name):
    with pytest.raises(EngineSettingsError, match=f"`{name}`"):
        EngineSettings.from_env(env)


def test_get_engine_applies_the_settings():
    engine = inference.get_engine(settings=EngineSettings(engine="fixed", fixed_latency_ms=7,
                                                          fixed_steps=3))
    assert isinstance(engine, FixedLatencyEngine)
    assert (engine.latency_ms, engine.steps) == (7, 3)
