"""A tiny, random-weight ACE-Step 1.5 pipeline in the real on-disk format.

Every component is an instance of the class the converted ACE-Step 1.5 turbo
checkpoint uses (see diffusers' ``scripts/convert_ace_step_to_diffusers.py``),
only with tiny sizes (``SIZES["tiny"]`` in ``tests/support/acestep_sizes.py``,
which also builds the real sizes), so ``AceStepPipeline.from_pretrained``
exercises exactly the loading code production runs. What is kept at production
values, and why:

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

from tests.support.acestep_sizes import DOWNSAMPLING_RATIOS, SAMPLE_RATE, build_pipeline

__all__ = ["DOWNSAMPLING_RATIOS", "SAMPLE_RATE", "build_tiny_pipeline", "save_tiny_pipeline"]


def build_tiny_pipeline():
    """Return an in-memory tiny ``AceStepPipeline`` (seeded, float32, eval mode)."""
    return build_pipeline("tiny")


def save_tiny_pipeline(path: pathlib.Path) -> pathlib.Path:
    """Build the tiny pipeline and ``save_pretrained`` it (safetensors) to ``path``."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    build_tiny_pipeline().save_pretrained(path, safe_serialization=True)
    return path
