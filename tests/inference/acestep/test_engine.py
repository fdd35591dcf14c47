"""The ACE-Step engine end to end on a tiny random-weight pipeline (CPU).

Every test goes through the worker's path: environment -> get_engine() ->
setup() -> generate().
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import inference
from inference import EngineSetupError, InvalidAudioError, OutOfMemoryError, get_engine

SR = 48_000


def run(engine, duration=2, seed=7, **kwargs):
    return engine.generate(
        prompt="mellow piano over dusty drums", duration=duration, seed=seed, **kwargs
    )


# -- the happy path -----------------------------------------------------------


def test_get_engine_builds_the_acestep_engine(acestep_env):
    engine = get_engine("acestep")
    assert type(engine).__name__ == "AceStepEngine"
    assert (engine.name, engine.sample_rate) == ("acestep", SR)
    assert isinstance(engine, inference.Engine)


def test_eight_steps_run_and_progress_is_reported_per_step(engine):
    calls = []
    handle = engine._pipe.transformer.register_forward_hook(lambda *a: calls.append(1))
    progress = []
    try:
        run(engine, progress=progress.append)
    finally:
        handle.remove()
    assert len(calls) == 8  # one DiT forward per step: turbo runs without CFG
    assert len(progress) == 8
    assert all(b > a for a, b in zip(progress, progress[1:], strict=False))
    assert progress[-1] == 1.0
    assert progress == [(i + 1) / 8 for i in range(8)]


@pytest.mark.parametrize("duration", [2, 3, 30])
def test_output_is_float32_stereo_of_exact_length(engine, duration):
    audio = run(engine, duration=duration)
    assert audio.shape == (duration * SR, 2)
    assert audio.dtype == np.float32
    assert np.isfinite(audio).all() and np.abs(audio).max() > 1e-3


def test_same_seed_same_audio_other_seed_other_audio(engine):
    first, again, other = run(engine, seed=11), run(engine, seed=11), run(engine, seed=12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_no_seed_still_generates(engine):
    assert run(engine, seed=None).shape == (2 * SR, 2)


def test_genre_changes_the_caption_and_thus_the_audio(engine):
    plain = run(engine)
    with_genre = run(engine, genre="jazz")
    assert not np.array_equal(plain, with_genre)


def test_steps_setting_is_honoured(acestep_env):
    acestep_env.setenv("ACESTEP_STEPS", "3")
    engine = get_engine()
    engine.setup()
    progress = []
    run(engine, progress=progress.append)
    assert progress == [1 / 3, 2 / 3, 1.0]


def test_understand_is_json_and_needs_no_setup(acestep_env):
    engine = get_engine()
    info = engine.understand(prompt="mellow piano", duration=30, genre="lofi", seed=3)
    json.dumps(info)
    assert info["caption"] == "lofi, mellow piano"
    assert (info["steps"], info["shift"], info["guidance"]) == (8, 3.0, 1.0)
    assert info["lyrics_mode"] == "instrumental" and info["lyrics"] == "[Instrumental]"


def test_describe(engine, tiny_model_dir):
    info = engine.describe()
    json.dumps(info)
    assert info["engine"] == "acestep"
    assert info["model"].startswith(f"{tiny_model_dir.name}@")
    assert (info["device"], info["dtype"]) == ("cpu", "float32")


def test_inputs_are_checked_before_anything_else(acestep_env):
    engine = get_engine()  # not set up: input errors still come first
    with pytest.raises(ValueError, match="duration"):
        engine.generate(prompt="piano", duration=0)
    with pytest.raises(ValueError, match="prompt"):
        engine.generate(prompt="  ", duration=2)
    with pytest.raises(RuntimeError, match="setup"):
        engine.generate(prompt="piano", duration=2)


# -- guards: the worker keeps serving after each --------------------------------


def test_nan_weights_raise_invalid_audio_then_recover(engine):
    weight = engine._pipe.transformer.proj_out_conv.weight
    saved = weight.detach().clone()
    with torch.no_grad():
        weight.fill_(float("nan"))
    with pytest.raises(InvalidAudioError):
        run(engine)
    with torch.no_grad():
        weight.copy_(saved)
    assert run(engine).shape == (2 * SR, 2)


def test_all_zero_output_raises_invalid_audio(engine):
    handle = engine._pipe.vae.decoder.register_forward_hook(
        lambda _module, _args, output: torch.zeros_like(output)
    )
    try:
        with pytest.raises(InvalidAudioError):
            run(engine)
    finally:
        handle.remove()
    assert run(engine).shape == (2 * SR, 2)


@pytest.fixture
def cuda_spy(monkeypatch):
    """Pretend CUDA exists for the recovery path and record cache frees."""
    freed = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: freed.append(1))
    return freed


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: out of memory"),
    ],
)
def test_oom_from_the_pipeline_raises_oom_and_next_job_works(engine, error, cuda_spy):
    pipeline_class = type(engine._pipe)
    with pytest.MonkeyPatch.context() as patch:

        def out_of_memory(*args, **kwargs):
            raise error

        patch.setattr(pipeline_class, "__call__", out_of_memory)
        with pytest.raises(OutOfMemoryError, match="out of GPU memory"):
            run(engine)
    assert cuda_spy, "the CUDA cache was not freed"
    assert run(engine).shape == (2 * SR, 2)


def test_oom_midway_through_denoising(engine, cuda_spy):
    def progress(fraction):
        if fraction >= 0.5:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(OutOfMemoryError):
        run(engine, progress=progress)
    assert run(engine).shape == (2 * SR, 2)


def test_other_runtime_errors_are_not_disguised_as_oom(engine, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(type(engine._pipe), "__call__", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        run(engine)


# -- setup failures -----------------------------------------------------------


def test_missing_model_dir_env(acestep_env):
    acestep_env.delenv("ACESTEP_MODEL_DIR")
    with pytest.raises(EngineSetupError, match="ACESTEP_MODEL_DIR is not set"):
        get_engine("acestep")


def test_nonexistent_model_dir(acestep_env, tmp_path):
    missing = tmp_path / "nope"
    acestep_env.setenv("ACESTEP_MODEL_DIR", str(missing))
    with pytest.raises(EngineSetupError, match="does not exist") as info:
        get_engine("acestep")
    assert str(missing) in str(info.value)


def test_dir_without_model_index(acestep_env, tmp_path):
    acestep_env.setenv("ACESTEP_MODEL_DIR", str(tmp_path))
    with pytest.raises(EngineSetupError, match="model_index.json") as info:
        get_engine("acestep")
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("component", ["vae", "transformer", "tokenizer"])
def test_missing_component_folder(acestep_env, tiny_model_dir, tmp_path, component):
    copy = shutil.copytree(tiny_model_dir, tmp_path / "model")
    shutil.rmtree(copy / component)
    acestep_env.setenv("ACESTEP_MODEL_DIR", str(copy))
    with pytest.raises(EngineSetupError, match=f"missing component folder.*{component}") as info:
        get_engine("acestep")
    assert str(copy) in str(info.value)


def test_corrupt_weights_fail_setup_clearly(acestep_env, tiny_model_dir, tmp_path):
    copy = shutil.copytree(tiny_model_dir, tmp_path / "model")
    (copy / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage")
    acestep_env.setenv("ACESTEP_MODEL_DIR", str(copy))
    engine = get_engine("acestep")
    with pytest.raises(EngineSetupError, match="cannot load AceStepPipeline") as info:
        engine.setup()
    assert str(copy) in str(info.value)


def test_cpu_offload_without_cuda_is_refused(acestep_env):
    acestep_env.setenv("ACESTEP_DEVICE", "cpu")
    acestep_env.setenv("ACESTEP_CPU_OFFLOAD", "1")
    with pytest.raises(EngineSetupError, match="ACESTEP_CPU_OFFLOAD"):
        get_engine("acestep").setup()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_device_without_cuda_is_refused(acestep_env):
    acestep_env.setenv("ACESTEP_DEVICE", "cuda")
    with pytest.raises(EngineSetupError, match="no CUDA device"):
        get_engine("acestep").setup()


# -- selection and import hygiene -----------------------------------------------


def test_auto_picks_acestep_only_with_a_model_dir(acestep_env):
    acestep_env.setenv("ENGINE", "auto")
    assert inference.resolve_name("auto") == "acestep"
    assert inference.resolve_name() == "acestep"
    acestep_env.delenv("ACESTEP_MODEL_DIR")
    assert inference.resolve_name("auto") == "composer"


def _python(code, env=None):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=inference.__path__[0] + "/..",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_importing_inference_does_not_import_torch():
    result = _python("import inference, sys; assert 'torch' not in sys.modules")
    assert result.returncode == 0, result.stderr


def test_constructing_the_engine_does_not_import_torch(tiny_model_dir):
    # __init__ runs in the Celery parent before fork: no torch, hence no CUDA.
    code = (
        "import sys; from inference import get_engine; get_engine('acestep'); "
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules"
    )
    import os

    env = {**os.environ, "ACESTEP_MODEL_DIR": str(tiny_model_dir)}
    result = _python(code, env)
    assert result.returncode == 0, result.stderr


def test_smoke_script_without_cuda_exits_cleanly():
    import os

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-m", "inference.acestep.smoke", "5"],
        cwd=inference.__path__[0] + "/..",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no CUDA device is available" in result.stdout
