"""ACE-Step 1.5 pipelines by size, with random weights, built straight on a device.

Sizes (``SIZES``):

* ``tiny``     - a few thousand parameters a component: the CPU tests' pipeline
  (``tests/support/tiny_acestep.py`` saves it in the real on-disk format).
* ``turbo``    - ACE-Step 1.5 turbo at its published size (2B DiT).
* ``xl-turbo`` - ACE-Step 1.5 XL turbo (the wider 5B-class DiT).

Speed and memory do not depend on the weights' values, so a random-weight
pipeline at the real size measures them for real (``bench/gpu.py``).

Sources of the real values:

* DiT, condition encoder, FSQ tokenizer/detokenizer: ACE-Step's
  ``acestep-v15-turbo/config.json`` as diffusers' ``scripts/convert_ace_step_to_diffusers.py``
  maps it onto the component classes (encoder widths default to the DiT's;
  ``pool_window_size`` 5, ``fsq_input_levels`` [8,8,8,5,5,5], 2 pooler layers,
  pooler ``layer_types`` = the DiT's first two); the class defaults of
  ``AceStepTransformer1DModel`` / ``AceStepConditionEncoder`` in diffusers 0.42.1
  are those turbo values. XL: ``hidden_size`` 2560, ``intermediate_size`` 9728,
  32 layers, 32 heads / 8 KV heads, with a 2048-wide condition encoder
  (``encoder_hidden_size``), as the comments in diffusers' transformer and
  converter describe and ACE-Step-1.5's ``xl_turbo`` model code reads them.
* VAE: ACE-Step's ``vae/config.json`` (AutoencoderOobleck, 48 kHz stereo,
  64-channel latent, ratios [2,4,4,6,10], channels 128 x [1,2,4,8,16]).
* Text encoder: ``Qwen/Qwen3-Embedding-0.6B`` ``config.json`` (Qwen3, hidden 1024,
  28 layers, 16 heads / 8 KV heads, head_dim 128, vocab 151669).

The tokenizer is always the tiny offline-trained byte-level BPE in the real
tokenizer class: no download, and token ids fit any vocabulary here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

SAMPLE_RATE = 48_000
# 2*4*4*6*10 = 1920 samples per latent frame = 25 latent frames per second.
DOWNSAMPLING_RATIOS = [2, 4, 4, 6, 10]
SEED = 0


@dataclass(frozen=True)
class Size:
    """Constructor arguments of every component (text encoder: ``Qwen3Config``)."""

    text_encoder: dict
    transformer: dict
    condition_encoder: dict
    audio_tokenizer: dict
    audio_token_detokenizer: dict
    vae: dict
    # Published parameter counts this size must match (component group -> count).
    published: dict = field(default_factory=dict)


def _tiny() -> Size:
    # Multi-head attention with grouped KV heads and the sliding/full layer
    # alternation of the real DiT, at sizes that run in milliseconds on CPU.
    hidden, acoustic = 32, 8  # real: 2048 and 64
    attn = dict(
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, rope_theta=10_000.0,
        sliding_window=16,
    )
    pooler = dict(
        hidden_size=hidden, intermediate_size=2 * hidden, audio_acoustic_hidden_dim=acoustic,
        pool_window_size=5,  # real value: 25 Hz latents -> 5 Hz audio codes
        num_attention_pooler_hidden_layers=1, **attn,
    )
    return Size(
        # vocab_size / pad_token_id come from the tiny tokenizer at build time.
        text_encoder=dict(
            hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=8,
            max_position_embeddings=4096,
        ),
        transformer=dict(
            hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
            # The DiT sees concat(src_latents, chunk_mask, noisy latents): 3 x acoustic.
            in_channels=3 * acoustic, audio_acoustic_hidden_dim=acoustic, patch_size=2,
            is_turbo=True, model_version="turbo", **attn,
        ),
        condition_encoder=dict(
            hidden_size=hidden, intermediate_size=2 * hidden, text_hidden_dim=hidden,
            timbre_hidden_dim=acoustic, num_lyric_encoder_hidden_layers=1,
            num_timbre_encoder_hidden_layers=1, **attn,
        ),
        audio_tokenizer=dict(fsq_dim=hidden, fsq_input_levels=[4, 4, 4], **pooler),
        audio_token_detokenizer=pooler,
        vae=dict(
            # encoder: mean and scale of each latent channel, as the real 128 -> 64
            encoder_hidden_size=2 * acoustic, downsampling_ratios=DOWNSAMPLING_RATIOS,
            channel_multiples=[1, 2, 2, 2, 2], decoder_channels=4,
            decoder_input_channels=acoustic, audio_channels=2, sampling_rate=SAMPLE_RATE,
        ),
    )


# Shared by the DiT and the encoders of both real sizes (acestep-v15-turbo config).
_REAL_ATTN = dict(
    num_key_value_heads=8, head_dim=128, rope_theta=1_000_000.0, attention_bias=False,
    attention_dropout=0.0, rms_norm_eps=1e-6, sliding_window=128,
)
_QWEN3_EMBEDDING_06B = dict(
    vocab_size=151_669, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
    num_attention_heads=16, num_key_value_heads=8, head_dim=128,
    max_position_embeddings=32_768, rope_theta=1_000_000.0, rms_norm_eps=1e-6,
    tie_word_embeddings=True,
)
_OOBLECK_48K = dict(
    encoder_hidden_size=128, downsampling_ratios=DOWNSAMPLING_RATIOS,
    channel_multiples=[1, 2, 4, 8, 16], decoder_channels=128, decoder_input_channels=64,
    audio_channels=2, sampling_rate=SAMPLE_RATE,
)


def _real(dit: dict, published: dict) -> Size:
    # The condition encoder and the FSQ tokenizer/detokenizer are 2048 wide on
    # both real sizes (on XL the DiT projects them up to its own width).
    encoder = dict(hidden_size=2048, intermediate_size=6144, num_attention_heads=16, **_REAL_ATTN)
    pooler = dict(
        audio_acoustic_hidden_dim=64, pool_window_size=5, num_attention_pooler_hidden_layers=2,
        layer_types=["sliding_attention", "full_attention"], **encoder,
    )
    return Size(
        text_encoder=_QWEN3_EMBEDDING_06B,
        transformer=dict(
            in_channels=192, audio_acoustic_hidden_dim=64, patch_size=2, is_turbo=True,
            **_REAL_ATTN, **dit,
        ),
        condition_encoder=dict(
            text_hidden_dim=1024, timbre_hidden_dim=64, num_lyric_encoder_hidden_layers=8,
            num_timbre_encoder_hidden_layers=4, **encoder,
        ),
        audio_tokenizer=dict(
            fsq_dim=2048, fsq_input_levels=[8, 8, 8, 5, 5, 5], fsq_input_num_quantizers=1,
            **pooler,
        ),
        audio_token_detokenizer=pooler,
        vae=_OOBLECK_48K,
        published=published,
    )


# Published sizes: ACE-Step 1.5's "2B" turbo DiT (transformer + condition encoder
# + audio tokenizer + detokenizer, 2.39 B in its model.safetensors), the Oobleck
# VAE (~169 M) and Qwen3-Embedding-0.6B (596 M; "0.6B").
SIZES = {
    "tiny": _tiny(),
    "turbo": _real(
        dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=24,
             num_attention_heads=16, model_version="turbo"),
        published={"dit": 2.39e9, "vae": 169e6, "text_encoder": 0.6e9},
    ),
    "xl-turbo": _real(
        dict(hidden_size=2560, intermediate_size=9728, num_hidden_layers=32,
             num_attention_heads=32, encoder_hidden_size=2048, model_version="xl_turbo"),
        # The converter calls it "the 5B XL variant"; only that round figure is published.
        published={"dit": 5e9, "vae": 169e6, "text_encoder": 0.6e9},
    ),
}
# Component groups of published counts -> pipeline components.
GROUPS = {
    "dit": ("transformer", "condition_encoder", "audio_tokenizer", "audio_token_detokenizer"),
    "vae": ("vae",),
    "text_encoder": ("text_encoder",),
}


def tiny_tokenizer():
    """A byte-level BPE trained offline, in the class Qwen3-Embedding-0.6B loads as."""
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>"],  # the special/pad token the prompt template uses
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte is encodable
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS, trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return Qwen2Tokenizer(vocab=model["vocab"], merges=merges, model_max_length=4096)


_CORPUS = [
    "# Instruction\nFill the audio semantic mask based on the given conditions:\n",
    "# Caption\nlofi hip hop, mellow piano over dusty drums\n",
    "# Metas\n- bpm: N/A\n- timesignature: N/A\n- keyscale: N/A\n- duration: 30 seconds\n",
    "# Languages\nunknown\n\n# Lyric\n[Instrumental]",
    "ambient synth pads, cinematic strings, upbeat electronic dance music with heavy bass",
    "jazz trio with brushed snare, rock guitar solo, calm acoustic folk song",
]


@contextlib.contextmanager
def _building_on(device, dtype):
    """New parameters land on ``device`` in ``dtype``: nothing is made twice."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


def build_pipeline(size: str = "tiny", device="cpu", dtype=None, seed: int = SEED):
    """An ``AceStepPipeline`` of ``size`` with seeded random weights, in eval mode.

    Every component is created directly on ``device`` in ``dtype`` (default
    float32): the 3.2 B parameters of ``turbo`` never exist in float32 on the
    CPU. ``device="meta"`` allocates nothing (for counting parameters).
    """
    import torch
    from diffusers import (
        AceStepPipeline,
        AceStepTransformer1DModel,
        AutoencoderOobleck,
        FlowMatchEulerDiscreteScheduler,
    )
    from diffusers.pipelines.ace_step import (
        AceStepAudioTokenDetokenizer,
        AceStepAudioTokenizer,
        AceStepConditionEncoder,
    )
    from transformers import Qwen3Config, Qwen3Model

    spec = SIZES[size]
    dtype = dtype or torch.float32
    tokenizer = tiny_tokenizer()
    text_config = {"vocab_size": len(tokenizer), **spec.text_encoder}
    meta = torch.device(device).type == "meta"
    with _building_on(device, dtype):

        def seeded(offset, make):
            if not meta:
                torch.manual_seed(seed + offset)
            return make()

        text_encoder = seeded(0, lambda: Qwen3Model(
            Qwen3Config(pad_token_id=tokenizer.pad_token_id, **text_config)
        ))
        transformer = seeded(1, lambda: AceStepTransformer1DModel(**spec.transformer))
        condition_encoder = seeded(2, lambda: AceStepConditionEncoder(**spec.condition_encoder))
        if not meta:
            # The converter bakes the VAE-encoded silence into this buffer; zeros
            # are the untrained placeholder, so give it low-level seeded noise.
            silence = condition_encoder.silence_latent
            silence.copy_(0.1 * torch.randn(silence.shape, device=silence.device))
        audio_tokenizer = seeded(3, lambda: AceStepAudioTokenizer(**spec.audio_tokenizer))
        audio_token_detokenizer = seeded(
            4, lambda: AceStepAudioTokenDetokenizer(**spec.audio_token_detokenizer)
        )
        vae = seeded(5, lambda: AutoencoderOobleck(**spec.vae))
    # The pipeline computes ACE-Step's shifted sigmas itself; like the converter,
    # register the scheduler so that it consumes them verbatim.
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, shift=1.0)
    pipe = AceStepPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        condition_encoder=condition_encoder,
        scheduler=scheduler,
        audio_tokenizer=audio_tokenizer,
        audio_token_detokenizer=audio_token_detokenizer,
    )
    for module in pipe.components.values():
        if isinstance(module, torch.nn.Module):
            module.eval().requires_grad_(False)
    return pipe


def parameter_counts(pipe) -> dict[str, int]:
    """Parameters per component group of ``GROUPS`` (buffers not counted)."""
    return {
        group: sum(
            p.numel() for name in names for p in getattr(pipe, name).parameters()
        )
        for group, names in GROUPS.items()
    }
