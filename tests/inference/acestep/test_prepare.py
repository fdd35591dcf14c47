"""`python -m inference.acestep.prepare`: the worker's checks on a directory, no network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inference import EngineSetupError, get_engine
from inference.acestep import prepare

ROOT = Path(__file__).resolve().parents[3]


def _copy(tiny_model_dir, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def test_a_good_directory_passes_and_prints_the_setting(tiny_model_dir, capsys):
    assert prepare.main(["--verify", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert f"ACESTEP_MODEL_DIR={tiny_model_dir.resolve()}" in out.splitlines()
    assert "8 components, weights float32" in out and "turbo" in out


def test_stored_dtype_is_read_from_the_weights(tmp_path):
    import torch

    from tests.support.acestep_sizes import build_pipeline

    build_pipeline("tiny", dtype=torch.bfloat16).save_pretrained(tmp_path / "bf16")
    assert prepare.verify(tmp_path / "bf16")["dtypes"] == ["bfloat16"]


@pytest.mark.parametrize("component", ["vae", "text_encoder", "scheduler"])
def test_missing_component_fails_like_the_worker(tiny_model_dir, tmp_path, capsys,
                                                 acestep_env, component):
    copy = _copy(tiny_model_dir, tmp_path)
    shutil.rmtree(copy / component)
    assert prepare.main(["--verify", str(copy)]) == 1
    err = capsys.readouterr().err
    assert f"missing component folder(s) {component}" in err and str(copy) in err
    acestep_env.setenv("ACESTEP_MODEL_DIR", str(copy))
    with pytest.raises(EngineSetupError, match=f"missing component folder.*{component}"):
        get_engine("acestep")  # the worker's parent process refuses the same directory


def test_wrong_vae_sample_rate_fails_like_the_worker(tiny_model_dir, tmp_path, capsys,
                                                     acestep_env):
    copy = _copy(tiny_model_dir, tmp_path)
    config = json.loads((copy / "vae" / "config.json").read_text())
    (copy / "vae" / "config.json").write_text(json.dumps({**config, "sampling_rate": 44_100}))
    assert prepare.main(["--verify", str(copy)]) == 1
    assert "VAE produces 44100 Hz x 2 channels, expected 48000 Hz x 2" in capsys.readouterr().err
    acestep_env.setenv("ACESTEP_MODEL_DIR", str(copy))
    with pytest.raises(EngineSetupError, match="VAE produces 44100 Hz"):
        get_engine("acestep")


def test_weights_other_than_safetensors_are_refused(tiny_model_dir, tmp_path):
    copy = _copy(tiny_model_dir, tmp_path)
    weights = copy / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_suffix(".bin"))
    with pytest.raises(EngineSetupError, match="'transformer' has no .safetensors weights"):
        prepare.verify(copy)


def test_unreadable_weights_are_named(tiny_model_dir, tmp_path):
    copy = _copy(tiny_model_dir, tmp_path)
    (copy / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage!")
    with pytest.raises(EngineSetupError, match="vae/diffusion_pytorch_model.safetensors is not"):
        prepare.verify(copy)


def test_download_then_verify(tiny_model_dir, tmp_path, monkeypatch, capsys):
    calls = []

    def fake_snapshot_download(repo_id, revision, local_dir, ignore_patterns):
        calls.append((repo_id, ignore_patterns))
        shutil.copytree(tiny_model_dir, local_dir)
        return str(local_dir)

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    assert prepare.main(["--dir", str(tmp_path)]) == 0
    target = (tmp_path / "acestep-v15-xl-turbo-diffusers").resolve()
    assert f"ACESTEP_MODEL_DIR={target}" in capsys.readouterr().out
    assert calls[0][0] == "ACE-Step/acestep-v15-xl-turbo-diffusers"
    assert "*.bin" in calls[0][1] and "*.pt" in calls[0][1]  # no pickles


def test_network_failure_is_one_sentence(tmp_path, monkeypatch, capsys):
    import huggingface_hub

    def unreachable(**_kwargs):
        raise ConnectionError("Failed to resolve 'huggingface.co'\nmore detail")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    # The engine's setup() sets HF_HUB_OFFLINE=1 in this process; be online here.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    assert prepare.main(["--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "cannot download ACE-Step/acestep-v15-xl-turbo-diffusers" in err
    assert "ConnectionError: Failed to resolve 'huggingface.co'" in err


def test_offline_fails_with_one_sentence_and_status_1(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run(
        [sys.executable, "-m", "inference.acestep.prepare", "--dir", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "cannot download" in result.stderr and "HF_HUB_OFFLINE is set" in result.stderr
