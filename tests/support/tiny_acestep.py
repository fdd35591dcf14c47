"""A tiny, random-weight ACE-Step 1.5 pipeline in the real on-disk format.

Every component is an instance of the class the converted ACE-Step 1.5 turbo
checkpoint uses (see diffusers' ``scripts/convert_ace_step_to_diffusers.py``),
only with tiny sizes, so ``AceStepPipeline.from_pretrained`` exercises exactly
the loading code production runs. What is kept at production values, and why:

* the VAE hop is 1920 samples at 48 kHz (25 latent frames per second), so a
  duration maps to latent frames and back to samples exactly as on the GPU;
* the transformer is flagged turbo, so the pipeline takes the guidance-free
  branch the real turbo checkpoint takes;
* the tokenizer is a byte-level BPE in transformers' ``Qwen2Tokenizer`` (the
  class Qwen3-Embedding-0.6B loads as), trained offline on a few sentences,
  with ``<|endoftext|>`` as the special/pad token the prompt template uses.

Everything is seeded, so two calls write identical weights. Building and
saving takes well under a second; a session-scoped fixture can call it once.
"""

from __future__ import annotations

import pathlib

# Small enough to be quick on CPU, large enough for multi-head attention with
# grouped KV heads and the sliding/full layer alternation of the real DiT.
HIDDEN = 32
HEADS = 4
KV_HEADS = 2
HEAD_DIM = 8
ACOUSTIC_DIM = 8  # real: 64 latent channels
SAMPLE_RATE = 48_000
# Same factors as the real ACE-Step 1.5 VAE: 2*4*4*6*10 = 1920 samples per frame.
DOWNSAMPLING_RATIOS = [2, 4, 4, 6, 10]
SEED = 0

_CORPUS = [
    "# Instruction\nFill the audio semantic mask based on the given conditions:\n",
    "# Caption\nlofi hip hop, mellow piano over dusty drums\n",
    "# Metas\n- bpm: N/A\n- timesignature: N/A\n- keyscale: N/A\n- duration: 30 seconds\n",
    "# Languages\nunknown\n\n# Lyric\n[Instrumental]",
    "ambient synth pads, cinematic strings, upbeat electronic dance music with heavy bass",
    "jazz trio with brushed snare, rock guitar solo, calm acoustic folk song",
]


def _tiny_tokenizer():
    """Train a byte-level BPE offline and wrap it in the real tokenizer class."""
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte is encodable
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS, trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return Qwen2Tokenizer(vocab=model["vocab"], merges=merges, model_max_length=4096)


def build_tiny_pipeline():
    """Return an in-memory tiny ``AceStepPipeline`` (seeded, float32, eval mode)."""
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

    attn = {
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "head_dim": HEAD_DIM,
        "rope_theta": 10_000.0,
        "sliding_window": 16,
    }
    tokenizer = _tiny_tokenizer()

    torch.manual_seed(SEED)
    text_encoder = Qwen3Model(
        Qwen3Config(
            vocab_size=len(tokenizer),
            hidden_size=HIDDEN,
            intermediate_size=2 * HIDDEN,
            num_hidden_layers=2,
            num_attention_heads=HEADS,
            num_key_value_heads=KV_HEADS,
            head_dim=HEAD_DIM,
            max_position_embeddings=4096,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    torch.manual_seed(SEED + 1)
    transformer = AceStepTransformer1DModel(
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=2,
        # The DiT sees concat(src_latents, chunk_mask, noisy latents): 3 x acoustic dim.
        in_channels=3 * ACOUSTIC_DIM,
        audio_acoustic_hidden_dim=ACOUSTIC_DIM,
        patch_size=2,
        is_turbo=True,
        model_version="turbo",
        **attn,
    )
    torch.manual_seed(SEED + 2)
    condition_encoder = AceStepConditionEncoder(
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        text_hidden_dim=HIDDEN,
        timbre_hidden_dim=ACOUSTIC_DIM,
        num_lyric_encoder_hidden_layers=1,
        num_timbre_encoder_hidden_layers=1,
        **attn,
    )
    # The converter bakes the VAE-encoded silence into this buffer; zeros would be
    # the untrained placeholder, so give it seeded low-level noise instead.
    condition_encoder.silence_latent.copy_(
        0.1 * torch.randn(condition_encoder.silence_latent.shape)
    )
    pooler = dict(
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        audio_acoustic_hidden_dim=ACOUSTIC_DIM,
        pool_window_size=5,  # real value: 25 Hz latents -> 5 Hz audio codes
        num_attention_pooler_hidden_layers=1,
        **attn,
    )
    torch.manual_seed(SEED + 3)
    audio_tokenizer = AceStepAudioTokenizer(fsq_dim=HIDDEN, fsq_input_levels=[4, 4, 4], **pooler)
    torch.manual_seed(SEED + 4)
    audio_token_detokenizer = AceStepAudioTokenDetokenizer(**pooler)
    torch.manual_seed(SEED + 5)
    vae = AutoencoderOobleck(
        encoder_hidden_size=4,
        downsampling_ratios=DOWNSAMPLING_RATIOS,
        channel_multiples=[1, 2, 2, 2, 2],
        decoder_channels=4,
        decoder_input_channels=ACOUSTIC_DIM,
        audio_channels=2,
        sampling_rate=SAMPLE_RATE,
    )
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
            module.eval()
    return pipe


def save_tiny_pipeline(path: pathlib.Path) -> pathlib.Path:
    """Build the tiny pipeline and ``save_pretrained`` it (safetensors) to ``path``."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    build_tiny_pipeline().save_pretrained(path, safe_serialization=True)
    return path
