"""CPU bench of the ACE-Step engine on the tiny random-weight pipeline.

    python bench/bench_acestep.py [--quick]

Numbers track the *engine and pipeline overhead*, not model quality or GPU
speed: the tiny DiT is a few thousand times smaller than the real one.

Rows (``run()`` returns them as dicts: name, figure, baseline, ratio, goal):
* ``denoise_steps_per_s_<N>s`` - denoising steps per second inside a real
  ``generate`` (timed between progress callbacks, so text encoding and VAE
  decode are excluded). Baseline: bare forwards per second of the same tiny
  transformer on the same latent length. Ratio = steps/s / forwards/s: 1.0 means
  each step costs exactly one DiT forward; lower means scheduler/callback
  overhead per step (turbo has no CFG, so there is one forward per step).
* ``compute_s_per_audio_s_<N>s`` - wall seconds per second of audio for a whole
  ``generate`` call. Baseline: the 8 bare DiT forwards alone, per audio second.
  Ratio = figure / baseline: how much the rest (text encoder, condition
  encoder, VAE decode, numpy conversion, checks) multiplies the DiT cost.
* ``load_s`` - ``setup()`` time for the tiny pipeline (diffusers already imported
  by building it; a cold worker adds ~5-6 s of torch/diffusers import on CPU).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import table  # noqa: E402  (after the path set-up, for `python bench/...py`)


def _bare_forward_s(pipe, duration: int, repeats: int) -> float:
    """Seconds for one transformer forward on a ``duration``-second latent."""
    import torch

    t = pipe.transformer
    frames = round(duration * pipe.latents_per_second)
    dim = t.config.audio_acoustic_hidden_dim
    hidden = torch.randn(1, frames, dim)
    context = torch.randn(1, frames, 2 * dim)
    cond = torch.randn(1, 64, t.config.encoder_hidden_size or t.config.hidden_size)
    step = torch.full((1,), 0.5)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats + 1):  # first call warms up
            started = time.perf_counter()
            t(hidden, step, step, cond, context, return_dict=False)
            best = min(best, time.perf_counter() - started)
    return best


def _generate(engine, duration: int, repeats: int) -> tuple[float, float]:
    """Best (total seconds, denoising steps per second) over ``repeats`` runs."""
    best_total, best_rate = float("inf"), 0.0
    for seed in range(repeats):
        stamps: list[float] = []

        def mark(_fraction: float, stamps: list[float] = stamps) -> None:
            stamps.append(time.perf_counter())

        started = time.perf_counter()
        engine.generate(
            prompt="bench: mellow piano over dusty drums",
            duration=duration,
            seed=seed,
            progress=mark,
        )
        best_total = min(best_total, time.perf_counter() - started)
        # Intervals between step ends are pure denoising steps.
        best_rate = max(best_rate, (len(stamps) - 1) / (stamps[-1] - stamps[0]))
    return best_total, best_rate


def run(quick: bool = False) -> list[dict]:
    from tests.support.tiny_acestep import save_tiny_pipeline

    durations = (10,) if quick else (10, 30)
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_tiny_pipeline(Path(tmp) / "tiny-acestep-turbo")
        os.environ["ACESTEP_MODEL_DIR"] = str(model_dir)
        os.environ.setdefault("ACESTEP_DEVICE", "cpu")
        from inference import get_engine

        engine = get_engine("acestep")
        started = time.perf_counter()
        engine.setup()
        load_s = time.perf_counter() - started
        engine.generate(prompt="warm-up", duration=2, seed=0)
        steps = engine.settings.steps

        rows = []
        for duration in durations:
            forward_s = _bare_forward_s(engine._pipe, duration, repeats)
            total_s, steps_per_s = _generate(engine, duration, repeats)
            rows.append(
                {
                    "name": f"denoise_steps_per_s_{duration}s",
                    "figure": steps_per_s,
                    "baseline": 1 / forward_s,
                    "ratio": steps_per_s * forward_s,
                    "goal": ">= 0.8 (per-step overhead <= 25% of a DiT forward)",
                }
            )
            per_audio_s = total_s / duration
            dit_only = steps * forward_s / duration
            rows.append(
                {
                    "name": f"compute_s_per_audio_s_{duration}s",
                    "figure": per_audio_s,
                    "baseline": dit_only,
                    "ratio": per_audio_s / dit_only,
                    "goal": "< 0.2 s/s on CPU for the tiny model (regression guard)",
                }
            )
        rows.append(
            {
                "name": "load_s",
                "figure": load_s,
                "baseline": None,
                "ratio": None,
                "goal": "< 2 s (tiny model; diffusers already imported)",
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    return table.main(run, __doc__.splitlines()[0], "10 s only, one repeat", argv)


if __name__ == "__main__":
    sys.exit(main())
