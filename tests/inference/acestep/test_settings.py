import json
import shutil

import pytest

from inference.acestep.settings import (
    DEFAULT_GUIDANCE,
    DEFAULT_SHIFT,
    DEFAULT_STEPS,
    AceStepSettings,
    model_id,
)
from inference.base import EngineSetupError


def test_defaults_are_the_turbo_recommendations(tiny_model_dir):
    s = AceStepSettings.from_env({"ACESTEP_MODEL_DIR": str(tiny_model_dir)})
    assert (s.steps, s.shift, s.guidance) == (DEFAULT_STEPS, DEFAULT_SHIFT, DEFAULT_GUIDANCE)
    assert (DEFAULT_STEPS, DEFAULT_SHIFT, DEFAULT_GUIDANCE) == (8, 3.0, 1.0)
    assert s.device is None and s.dtype is None and s.cpu_offload is False
    assert s.model_dir == tiny_model_dir


def test_values_are_parsed(tiny_model_dir):
    s = AceStepSettings.from_env(
        {
            "ACESTEP_MODEL_DIR": str(tiny_model_dir),
            "ACESTEP_DEVICE": "cuda:1",
            "ACESTEP_DTYPE": "bf16",
            "ACESTEP_CPU_OFFLOAD": "1",
            "ACESTEP_STEPS": "4",
            "ACESTEP_SHIFT": "2.5",
            "ACESTEP_GUIDANCE": "1",
        }
    )
    assert (s.device, s.dtype, s.cpu_offload) == ("cuda:1", "bfloat16", True)
    assert (s.steps, s.shift, s.guidance) == (4, 2.5, 1.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACESTEP_DEVICE", "tpu"),
        ("ACESTEP_DTYPE", "int8"),
        ("ACESTEP_CPU_OFFLOAD", "maybe"),
        ("ACESTEP_STEPS", "0"),
        ("ACESTEP_STEPS", "8.5"),
        ("ACESTEP_SHIFT", "0"),
        ("ACESTEP_SHIFT", "nan"),
        ("ACESTEP_GUIDANCE", "-1"),
        ("ACESTEP_GUIDANCE", "lots"),
    ],
)
def test_bad_values_name_the_variable(tiny_model_dir, name, value):
    env = {"ACESTEP_MODEL_DIR": str(tiny_model_dir), name: value}
    with pytest.raises(ValueError, match=name) as info:
        AceStepSettings.from_env(env)
    assert isinstance(info.value, EngineSetupError)  # the worker refuses jobs


@pytest.mark.parametrize("value", [None, "", "   "])
def test_unset_model_dir(value):
    env = {} if value is None else {"ACESTEP_MODEL_DIR": value}
    with pytest.raises(EngineSetupError, match="ACESTEP_MODEL_DIR is not set"):
        AceStepSettings.from_env(env)


def test_model_id_is_dir_name_plus_config_hash(tiny_model_dir, tmp_path):
    copy = shutil.copytree(tiny_model_dir, tmp_path / "tiny-acestep-turbo")
    assert model_id(copy) == model_id(tiny_model_dir)
    assert model_id(copy).startswith("tiny-acestep-turbo@")
    config_path = copy / "transformer" / "config.json"
    config = json.loads(config_path.read_text())
    config["num_hidden_layers"] += 1
    config_path.write_text(json.dumps(config))
    assert model_id(copy) != model_id(tiny_model_dir)
