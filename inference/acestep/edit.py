"""Extend, repaint and cover with ACE-Step 1.5 (diffusers' ``AceStepPipeline``).

What the pipeline does with a source (read from diffusers 0.42's code): it takes
``src_audio`` as ``[channels, samples]`` at 48 kHz and never resamples; the
output is as long as the source (``audio_duration`` only fills the prompt's
metadata); a repaint range outside the source is clamped; the VAE encodes the
source with ``latent_dist.sample()``, which draws from torch's *global*
generator; and the whole piece comes back regenerated and normalised, the kept
part included. Hence:

- extend = the source up to ``extend_from``, padded with silence to the result's
  length, and the padding repainted; the model sees everything before the cut
  as context (``extend_from`` is at least one bar, so at least one bar of it);
- the source's own samples are spliced back outside the new range
  (inference/edit.py), the new part's level matched to them;
- the global generator is seeded too, and VAE tiling is on for an edit longer
  than one VAE tile (30 s) only (plain renders stay byte for byte as before).

Turbo supports text2music, repaint and cover; ``strength`` is the pipeline's
``audio_cover_strength`` for cover. The pipeline has no strength for repaint,
which regenerates its whole range: there ``strength`` has no effect on ACE-Step
(README says so).
"""

from __future__ import annotations

import numpy as np

from inference.acestep.engine import _fit_length
from inference.base import SAMPLE_RATE as SR
from inference.base import resolve_seed
from inference.edit import EditRequest, EditResult, boundary_windows, match_gain, segments_for
from inference.edit import splice as splice_audio

DEFAULT_BPM = 120  # for the crossfade's beat when the request gave no tempo
BEATS_PER_BAR = 4


def edit(engine, req: EditRequest, progress) -> EditResult:
    torch = engine._torch
    inputs = {k: v for k, v in req.inputs.items() if k not in ("seed", "duration")}
    kwargs = engine.pipeline_kwargs(duration=req.duration, **inputs)
    seed = resolve_seed(req.inputs.get("seed"))
    total = req.duration * SR
    beat = 60.0 / (inputs.get("bpm") or DEFAULT_BPM)
    fade = int(round(beat * SR))
    source = req.audio
    if req.task == "extend":
        cut = req.extend_from * SR
        padded = np.zeros((total, 2), np.float32)
        padded[:cut] = source[:cut]
        task = {"task_type": "repaint", "repainting_start": float(req.extend_from),
                "repainting_end": float(req.duration)}
        src, new_range = padded, (cut, total)
    elif req.task == "repaint":
        task = {"task_type": "repaint", "repainting_start": float(req.start),
                "repainting_end": float(req.end)}
        src, new_range = source, (int(round(req.start * SR)), int(round(req.end * SR)))
    else:
        task = {"task_type": "cover", "audio_cover_strength": float(req.strength)}
        src, new_range = source, (0, total)
    steps = kwargs["num_inference_steps"]

    def on_step_end(_pipe, step_index, _timestep, callback_kwargs):
        progress((step_index + 1) / steps)
        return callback_kwargs

    generator = torch.Generator(device=engine._device).manual_seed(seed)
    torch.manual_seed(seed)  # the VAE's encode samples from the global generator
    vae = engine._pipe.vae
    tiling = getattr(vae, "use_tiling", False)
    # Long sources only: a piece within one tile would be encoded the same, only slower.
    long = total > getattr(vae, "tile_sample_min_length", 0)
    if long and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    try:
        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(src.T))
            out = engine._pipe_call({**kwargs, **task, "src_audio": tensor}, generator,
                                    on_step_end)
            new = out[0].float().transpose(0, 1).cpu().numpy()
    finally:
        if long and hasattr(vae, "disable_tiling") and not tiling:
            vae.disable_tiling()
    new = _fit_length(new, total)
    a, b = new_range
    if req.task == "cover":
        gain = match_gain(source, new, [(0, total)])
        audio = new * np.float32(gain)
    else:
        kept = min(len(source), a if req.task == "extend" else total)
        gain = match_gain(source, new, boundary_windows(a, b, total, kept))
        audio = splice_audio(source, new, a, b, fade, gain=gain)
    seconds = (round(a / SR, 3), round(b / SR, 3))
    return EditResult(audio, segments_for(req.task, req.duration, seconds))

