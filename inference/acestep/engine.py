"""ACE-Step 1.5 Turbo through diffusers' ``AceStepPipeline``.

Lifecycle (one Celery worker process per GPU):
  * ``__init__`` - parent process, before fork: read settings, check the model
    directory. No torch import, no CUDA.
  * ``setup``    - each child, once: load the pipeline onto its device
    (``from_pipeline`` adopts one built in memory instead: the GPU bench).
  * ``generate`` - one job at a time; OOM and bad audio become job errors and
    leave the engine usable for the next job.
"""

from __future__ import annotations

import gc
import logging
import os
import time

import numpy as np

from inference.acestep.caption import conditioning, is_sung
from inference.acestep.layout import check_audio_format
from inference.acestep.settings import AceStepSettings
from inference.acestep.tokens import text_only
from inference.base import (
    SAMPLE_RATE,
    EngineSetupError,
    OutOfMemoryError,
    Progress,
    check_audio,
    check_inputs,
    resolve_seed,
)

log = logging.getLogger(__name__)


class AceStepEngine:
    name = "acestep"
    sample_rate = SAMPLE_RATE

    def __init__(self, settings: AceStepSettings | None = None) -> None:
        self.settings = settings or AceStepSettings.from_env()
        self._pipe = None
        self._torch = None
        self._device: str | None = None
        self._dtype: str | None = None
        self.load_seconds: float | None = None

    # -- setup ---------------------------------------------------------------

    def setup(self) -> None:
        if self._pipe is not None:
            return
        # Weights can only come from the local directory; never reach for the Hub.
        # Set before diffusers/huggingface_hub are imported, which read it at import.
        os.environ["HF_HUB_OFFLINE"] = "1"
        import torch
        from diffusers import AceStepPipeline

        s = self.settings
        device, dtype = self._placement(torch)
        started = time.perf_counter()
        try:
            # `dtype=` is diffusers 0.42's name for the deprecated `torch_dtype=`;
            # safetensors only, never a pickled checkpoint.
            pipe = AceStepPipeline.from_pretrained(
                str(s.model_dir), dtype=getattr(torch, dtype), local_files_only=True,
                use_safetensors=True,
            )
        except Exception as exc:
            raise EngineSetupError(
                f"cannot load AceStepPipeline from ACESTEP_MODEL_DIR {str(s.model_dir)!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._adopt(torch, pipe, device, dtype)
        self.load_seconds = time.perf_counter() - started
        log.info(
            "ACE-Step loaded %s on %s/%s in %.1fs", s.model_id, device, dtype, self.load_seconds
        )

    @classmethod
    def from_pipeline(cls, pipe, settings: AceStepSettings) -> AceStepEngine:
        """An engine set up with an ``AceStepPipeline`` already built in memory.

        Same checks, placement and job path as ``setup``; only the loading from
        ``ACESTEP_MODEL_DIR`` is skipped (the GPU bench builds random-weight
        pipelines at the real size straight on the GPU).
        """
        import torch

        engine = cls(settings)
        device, _ = engine._placement(torch)
        engine._adopt(torch, pipe, device, str(pipe.transformer.dtype).removeprefix("torch."))
        return engine

    def _placement(self, torch) -> tuple[str, str]:
        s = self.settings
        device = s.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EngineSetupError(f"ACESTEP_DEVICE={device!r} but no CUDA device is available")
        if s.cpu_offload and not device.startswith("cuda"):
            raise EngineSetupError("ACESTEP_CPU_OFFLOAD=1 needs a CUDA device (ACESTEP_DEVICE)")
        # bf16 is what the turbo checkpoint ships in and A10G (Ampere) runs natively;
        # CPU kernels are only fast and complete in float32.
        return device, s.dtype or ("bfloat16" if device.startswith("cuda") else "float32")

    def _adopt(self, torch, pipe, device: str, dtype: str) -> None:
        # 48 kHz stereo: the parent process checked vae/config.json; this is the
        # same check on the VAE actually loaded.
        check_audio_format(pipe.vae.config, f"ACESTEP_MODEL_DIR {str(self.settings.model_dir)!r}")
        for module in pipe.components.values():
            if isinstance(module, torch.nn.Module):
                module.eval().requires_grad_(False)
        try:
            if self.settings.cpu_offload:
                # Whole components move to the GPU only while they run.
                pipe.enable_model_cpu_offload(device=device)
            else:
                pipe.to(device)
        except Exception as exc:
            raise EngineSetupError(f"cannot move ACE-Step to {device!r}: {exc}") from exc
        # Prompts and lyrics are the user's text: a typed special token stays text.
        text_only(pipe.tokenizer)
        # Job progress goes through `progress`; a tqdm bar would only spam worker logs.
        pipe.set_progress_bar_config(disable=True)
        self._torch, self._pipe, self._device, self._dtype = torch, pipe, device, dtype

    # -- jobs ----------------------------------------------------------------

    def pipeline_kwargs(self, *, prompt, duration, genre=None, **song) -> dict:
        """What ``generate`` hands the pipeline, less the per-call generator,
        output and callback arguments: the text conditioning and the sampler."""
        s = self.settings
        return {
            **conditioning(prompt, genre, **song),
            "audio_duration": float(duration),
            "num_inference_steps": s.steps,
            "shift": s.shift,
            "guidance_scale": s.guidance,
        }

    def understand(self, *, prompt, duration, genre=None, seed=None, **song) -> dict:
        check_inputs(prompt, duration, genre, seed, **song)
        kwargs = self.pipeline_kwargs(prompt=prompt, duration=duration, genre=genre, **song)
        sung = is_sung(song.get("lyrics"), song.get("instrumental"))
        return {
            "caption": kwargs["prompt"],
            "lyrics": kwargs["lyrics"],
            "lyrics_mode": "lyrics" if sung else "instrumental",
            "vocal_language": kwargs["vocal_language"],
            "bpm": kwargs["bpm"],
            "keyscale": kwargs["keyscale"],
            "timesignature": kwargs["timesignature"],
            "duration": duration,
            "seed": seed,
            "steps": kwargs["num_inference_steps"],
            "shift": kwargs["shift"],
            "guidance": kwargs["guidance_scale"],
            "sample_rate": SAMPLE_RATE,
        }

    def describe(self) -> dict:
        s = self.settings
        return {
            "engine": self.name,
            "model": s.model_id,
            # Before setup() these are the configured values (None = decided at setup).
            "device": self._device or s.device,
            "dtype": self._dtype or s.dtype,
        }

    def generate(
        self,
        *,
        prompt: str,
        duration: int,
        genre: str | None = None,
        seed: int | None = None,
        progress: Progress | None = None,
        **song,  # lyrics, instrumental, vocal_language, bpm, key, time_signature
    ) -> np.ndarray:
        check_inputs(prompt, duration, genre, seed, **song)
        if self._pipe is None:
            raise RuntimeError("AceStepEngine.setup() must be called before generate()")
        torch = self._torch
        kwargs = self.pipeline_kwargs(prompt=prompt, duration=duration, genre=genre, **song)
        steps = kwargs["num_inference_steps"]
        # The generator lives on the execution device so a seed gives the same
        # noise regardless of offload mode.
        generator = torch.Generator(device=self._device).manual_seed(resolve_seed(seed))

        def on_step_end(_pipe, step_index, _timestep, callback_kwargs):
            if progress is not None:
                progress((step_index + 1) / steps)
            return callback_kwargs

        oom = None
        try:
            with torch.inference_mode():
                audio = self._pipe_call(kwargs, generator, on_step_end)
                # (batch, channels, samples) -> (samples, channels) float32 on the CPU.
                audio = audio[0].float().transpose(0, 1).cpu().numpy()
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError
            if not _is_oom(torch, exc):
                raise
            oom = f"{type(exc).__name__}: {exc}"
        if oom is not None:
            # Recover outside the except block: the exception's traceback pins the
            # pipeline's frames and with them the GPU tensors we want freed.
            self._recover_from_oom(oom)
            raise OutOfMemoryError()
        return check_audio(_fit_length(audio, duration * SAMPLE_RATE), duration)

    def edit(self, request, progress: Progress | None = None):
        """Extend, repaint or cover a finished piece (inference/acestep/edit.py)."""
        from inference.acestep.edit import edit

        if self._pipe is None:
            raise RuntimeError("AceStepEngine.setup() must be called before edit()")
        oom = None
        try:
            return edit(self, request, progress or (lambda _f: None))
        except RuntimeError as exc:  # as in generate(): free the GPU, fail the job
            if not _is_oom(self._torch, exc):
                raise
            oom = f"{type(exc).__name__}: {exc}"
        self._recover_from_oom(oom)
        raise OutOfMemoryError()

    def _pipe_call(self, kwargs: dict, generator, on_step_end=None, batch: int | None = None):
        """One pipeline call with pipeline_kwargs() -> (batch, channels, samples).

        ``batch`` repeats the job's texts: the GPU bench measures batching
        through this; the worker sends one job per call.
        """
        if batch is not None:
            kwargs = {**kwargs, "prompt": [kwargs["prompt"]] * batch,
                      "lyrics": [kwargs["lyrics"]] * batch}
        return self._pipe(
            **kwargs,
            generator=generator,
            output_type="pt",
            return_dict=False,
            callback_on_step_end=on_step_end,
        )[0]

    def _recover_from_oom(self, message: str) -> None:
        log.warning("ACE-Step ran out of memory; freeing cache: %s", message[:300])
        if self.settings.cpu_offload:
            # The failed call may have left a component on the GPU; re-arm the hooks.
            self._pipe.maybe_free_model_hooks()
        gc.collect()
        if self._torch.cuda.is_available():
            self._torch.cuda.empty_cache()


def _is_oom(torch, exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    """Trim/pad to exactly ``frames`` samples.

    With the real VAE (hop 1920 at 48 kHz = 25 latent frames/s) a whole-second
    duration decodes to exactly duration * 48000 samples, so this is a no-op.
    It only bites for a VAE whose hop does not divide the sample rate: the
    pipeline rounds the latent count *up*, so audio comes out slightly long and
    is trimmed. Padding (with silence, at the very end) is a defensive fallback
    should a decoder ever return a few samples short.
    """
    if audio.shape[0] >= frames:
        return audio[:frames]
    return np.pad(audio, ((0, frames - audio.shape[0]), (0, 0)))
