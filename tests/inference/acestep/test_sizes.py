"""The real-size random-weight builder matches the published ACE-Step 1.5 sizes.

Real sizes are built on the meta device only: nothing is allocated, so these
tests take about a second and never hold 3 B parameters in CPU memory.
"""

from __future__ import annotations

import pytest
import torch

from tests.support.acestep_sizes import SIZES, build_pipeline, parameter_counts


@pytest.fixture(scope="module")
def turbo():
    return build_pipeline("turbo", device="meta", dtype=torch.bfloat16)


def test_turbo_parameter_counts_match_the_published_sizes(turbo):
    counts = parameter_counts(turbo)
    # DiT + condition encoder + FSQ tokenizer/detokenizer: 2.39 B; VAE 169 M;
    # Qwen3-Embedding-0.6B 596 M.
    assert counts["dit"] == pytest.approx(2.39e9, rel=0.005)
    assert counts["vae"] == pytest.approx(169e6, rel=0.005)
    assert counts["text_encoder"] == pytest.approx(596e6, rel=0.005)
    for group, published in SIZES["turbo"].published.items():
        assert counts[group] == pytest.approx(published, rel=0.01), group


def test_xl_turbo_is_the_5b_variant_with_the_same_vae_and_text_encoder(turbo):
    xl = parameter_counts(build_pipeline("xl-turbo", device="meta", dtype=torch.bfloat16))
    assert xl["dit"] == pytest.approx(5e9, rel=0.02)
    assert {k: xl[k] for k in ("vae", "text_encoder")} == {
        k: parameter_counts(turbo)[k] for k in ("vae", "text_encoder")
    }


def test_real_sizes_are_built_without_allocating(turbo):
    for module in turbo.components.values():
        if isinstance(module, torch.nn.Module):
            assert {p.device.type for p in module.parameters()} == {"meta"}
            assert {p.dtype for p in module.parameters()} == {torch.bfloat16}


def test_turbo_architecture(turbo):
    dit = turbo.transformer.config
    assert (dit.num_hidden_layers, dit.hidden_size, dit.num_attention_heads,
            dit.num_key_value_heads, dit.head_dim) == (24, 2048, 16, 8, 128)
    assert (dit.patch_size, dit.in_channels, dit.sliding_window) == (2, 192, 128)
    assert turbo.transformer.layer_types == ["sliding_attention", "full_attention"] * 12
    assert turbo.is_turbo
    vae = turbo.vae.config
    assert (vae.sampling_rate, vae.audio_channels, vae.decoder_input_channels) == (48_000, 2, 64)
    assert (vae.downsampling_ratios, vae.channel_multiples, vae.decoder_channels) == (
        [2, 4, 4, 6, 10], [1, 2, 4, 8, 16], 128)
    assert turbo.latents_per_second == 25.0
    text = turbo.text_encoder.config
    assert (text.hidden_size, text.num_hidden_layers, text.vocab_size) == (1024, 28, 151_669)


def test_components_are_built_directly_in_the_requested_dtype():
    pipe = build_pipeline("tiny", dtype=torch.bfloat16)
    for name, module in pipe.components.items():
        if isinstance(module, torch.nn.Module):
            assert {p.dtype for p in module.parameters()} == {torch.bfloat16}, name
    assert torch.get_default_dtype() == torch.float32  # restored afterwards
