"""The tiny pipeline keeps the production audio geometry and is reproducible."""

import json

from tests.support.tiny_acestep import save_tiny_pipeline


def test_layout_matches_the_converted_checkpoint(tiny_model_dir):
    index = json.loads((tiny_model_dir / "model_index.json").read_text())
    assert index["_class_name"] == "AceStepPipeline"
    assert index["transformer"] == ["diffusers", "AceStepTransformer1DModel"]
    assert index["vae"] == ["diffusers", "AutoencoderOobleck"]
    assert index["text_encoder"] == ["transformers", "Qwen3Model"]
    for name in ("transformer", "condition_encoder", "vae"):
        assert (tiny_model_dir / name / "diffusion_pytorch_model.safetensors").is_file()
    assert (tiny_model_dir / "text_encoder" / "model.safetensors").is_file()


def test_vae_keeps_the_real_hop_and_rate(tiny_model_dir):
    vae = json.loads((tiny_model_dir / "vae" / "config.json").read_text())
    hop = 1
    for ratio in vae["downsampling_ratios"]:
        hop *= ratio
    assert (hop, vae["sampling_rate"], vae["audio_channels"]) == (1920, 48_000, 2)
    transformer = json.loads((tiny_model_dir / "transformer" / "config.json").read_text())
    assert transformer["is_turbo"] is True


def test_saving_is_deterministic(tiny_model_dir, tmp_path):
    again = save_tiny_pipeline(tmp_path / "again")
    for file in sorted(tiny_model_dir.rglob("*.safetensors")):
        relative = file.relative_to(tiny_model_dir)
        assert (again / relative).read_bytes() == file.read_bytes(), relative
