"""ACE-Step at the real size, through the production engine: ``python -m bench.gpu``.

Builds a random-weight ``AceStepPipeline`` at a published size straight on the
GPU in bf16 (``tests/support/acestep_sizes.py``; speed and memory do not depend
on the weights' values), hands it to ``AceStepEngine.from_pipeline`` and drives
the engine's own ``generate``. Measured, per size (8 steps):

* seconds of compute per second of audio at 30/60/120 s: median of 3 runs after
  a warm-up, split into text encoding, condition encoding, denoising (the 8 DiT
  forwards) and VAE decode by CUDA-synchronised hooks on those components;
  ``other`` is the rest (tokenising, scheduler, numpy conversion, checks);
* peak VRAM per duration (``torch.cuda.max_memory_allocated``) vs the card's total;
* output finite and non-silent; the same seed gives the same audio;
* throughput in audio-seconds per GPU-second at batch 1, 2, 4 (a list of
  prompts through the engine's pipeline call: decides whether to batch jobs);
* out of memory: with the allocator capped just above the weights, a long job
  fails with the engine's "out of GPU memory" and the next job succeeds.

Without CUDA the same code runs on the tiny pipeline on CPU (short durations;
the out-of-memory error is simulated) in under a minute, so it cannot rot.
Writes one JSON file (default ``bench/results/<gpu>.json`` on CUDA, a temp file
on CPU) and prints the table through ``bench.table``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import table  # noqa: E402

PROMPT = "warm lofi hip hop with mellow piano and vinyl crackle"
SEED = 1234
STAGES = ("text_encode", "condition", "denoise", "vae_decode")
GIB = 2**30


class StageClock:
    """Wall time per pipeline stage, synchronising the GPU at each boundary."""

    def __init__(self, torch, pipe, cuda: bool):
        self._sync = torch.cuda.synchronize if cuda else (lambda: None)
        self._pipe = pipe
        self._handles = []
        self._started: dict[str, float] = {}
        self.seconds = dict.fromkeys(STAGES, 0.0)
        for stage, module in (("text_encode", pipe.text_encoder),
                              ("condition", pipe.condition_encoder),
                              ("denoise", pipe.transformer)):
            self._handles.append(module.register_forward_pre_hook(
                lambda *_, s=stage: self._start(s)))
            self._handles.append(module.register_forward_hook(
                lambda *_, s=stage: self._stop(s)))
        decode = pipe.vae.decode

        def timed_decode(*args, **kwargs):
            self._start("vae_decode")
            out = decode(*args, **kwargs)
            self._stop("vae_decode")
            return out

        pipe.vae.decode = timed_decode  # an instance attribute: `del` restores the method

    def _start(self, stage):
        self._sync()
        self._started[stage] = time.perf_counter()

    def _stop(self, stage):
        self._sync()
        self.seconds[stage] += time.perf_counter() - self._started.pop(stage)

    def reset(self):
        self._started.clear()
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def close(self):
        for handle in self._handles:
            handle.remove()
        del self._pipe.vae.decode


class Bench:
    def __init__(self, torch, size: str, steps: int, cuda: bool):
        from inference.acestep.engine import AceStepEngine
        from inference.acestep.settings import DEFAULT_GUIDANCE, DEFAULT_SHIFT, AceStepSettings
        from tests.support.acestep_sizes import build_pipeline, parameter_counts

        self.torch, self.cuda = torch, cuda
        device = "cuda" if cuda else "cpu"
        started = time.perf_counter()
        pipe = build_pipeline(size, device, torch.bfloat16 if cuda else torch.float32)
        self._sync()
        self.build_s = time.perf_counter() - started
        self.params = parameter_counts(pipe)
        settings = AceStepSettings(
            model_dir=Path(f"<random-weight {size}>"), model_id=f"random-{size}",
            device=device, dtype=None, cpu_offload=False, steps=steps,
            shift=DEFAULT_SHIFT, guidance=DEFAULT_GUIDANCE,
        )
        self.engine = AceStepEngine.from_pipeline(pipe, settings)
        self.clock = StageClock(torch, pipe, cuda)

    def _sync(self):
        if self.cuda:
            self.torch.cuda.synchronize()

    def _peak_reset(self):
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()

    def _peak_gib(self):
        return self.torch.cuda.max_memory_allocated() / GIB if self.cuda else None

    def _timed(self, call, repeats: int):
        """Warm-up, then ``repeats`` timed calls: (median seconds, median stages, outputs)."""
        call()
        totals, stages, outputs = [], [], []
        for _ in range(repeats):
            self.clock.reset()
            started = time.perf_counter()
            outputs.append(call())
            self._sync()
            totals.append(time.perf_counter() - started)
            stages.append(dict(self.clock.seconds))
        median = {s: statistics.median(run[s] for run in stages) for s in STAGES}
        return statistics.median(totals), median, outputs

    def duration(self, seconds: int, repeats: int) -> dict:
        import numpy as np

        from inference import InvalidAudioError

        def job():
            # Bad audio is a finding, not a reason to lose the timings: keep going.
            try:
                return self.engine.generate(prompt=PROMPT, duration=seconds, seed=SEED)
            except InvalidAudioError:
                return np.full((seconds * 48_000, 2), np.nan, dtype=np.float32)

        self._peak_reset()
        total, stages, outputs = self._timed(job, repeats)
        audio = outputs[0]
        return {
            "s_per_audio_s": total / seconds,
            "total_s": total,
            **{f"{s}_s": v for s, v in stages.items()},
            "other_s": total - sum(stages.values()),
            "peak_vram_gib": self._peak_gib(),
            "finite": bool(np.isfinite(audio).all()),
            "peak_abs": float(np.abs(audio).max()),
            "rms": float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))),
            # Every timed run used the same seed.
            "same_seed_same_audio": all(np.array_equal(audio, o) for o in outputs[1:])
            and bool(np.isfinite(audio).all()),
        }

    def batch(self, size: int, seconds: int, repeats: int) -> dict:
        torch = self.torch

        def call():
            generator = torch.Generator(device=self.engine._device).manual_seed(SEED)
            with torch.inference_mode():
                kwargs = self.engine.pipeline_kwargs(prompt=PROMPT, duration=seconds)
                return self.engine._pipe_call(kwargs, generator, batch=size).shape

        self._peak_reset()
        try:
            total, _, shapes = self._timed(call, repeats)
        except Exception as exc:  # the pipeline may not take a list of prompts
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
        return {
            "audio_s_per_gpu_s": size * seconds / total,
            "total_s": total,
            "shape": list(shapes[0]),
            "peak_vram_gib": self._peak_gib(),
        }

    def oom(self, long_s: int, short_s: int) -> dict:
        """A job past the memory limit fails cleanly; the next one succeeds."""
        from inference import OutOfMemoryError

        torch = self.torch
        undo = self._limit_memory()
        try:
            self.engine.generate(prompt=PROMPT, duration=long_s, seed=SEED)
            error = None
        except OutOfMemoryError as exc:
            error = str(exc)
        finally:
            undo()
        audio = self.engine.generate(prompt=PROMPT, duration=short_s, seed=SEED)
        return {
            "simulated": not self.cuda,
            "error": error,
            "next_job_ok": audio.shape[0] == short_s * 48_000,
            "cap_gib": self._cap_gib if self.cuda else None,
            "allocated_after_gib": (torch.cuda.memory_allocated() / GIB) if self.cuda else None,
        }

    def _limit_memory(self):
        torch = self.torch
        if self.cuda:
            # Cap the caching allocator a little above what the weights hold now:
            # a real allocation failure inside the real job, on any card size.
            torch.cuda.empty_cache()
            total = torch.cuda.get_device_properties(0).total_memory
            cap = torch.cuda.memory_allocated() + 64 * 2**20
            self._cap_gib = cap / GIB
            torch.cuda.set_per_process_memory_fraction(cap / total)
            return lambda: torch.cuda.set_per_process_memory_fraction(1.0)

        # No CUDA: the DiT raises the error CUDA's allocator would.
        def fail(*_):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated without CUDA)")

        return self.engine._pipe.transformer.register_forward_pre_hook(fail).remove


def _gpu_name(torch) -> str:
    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def run(sizes, durations, batches, repeats, steps, cuda) -> dict:
    import torch

    began = time.perf_counter()
    result = {
        "device": _gpu_name(torch),
        "device_total_gib": (torch.cuda.get_device_properties(0).total_memory / GIB
                             if cuda else None),
        "dtype": "bfloat16" if cuda else "float32",
        "steps": steps,
        "repeats": repeats,
        "versions": _versions(),
        "sizes": {},
    }
    for size in sizes:
        bench = Bench(torch, size, steps, cuda)
        entry = {"params": bench.params, "build_s": bench.build_s,
                 "durations": {}, "batches": {}}
        for seconds in durations:
            entry["durations"][str(seconds)] = bench.duration(seconds, repeats)
        for size_b in batches:
            entry["batches"][str(size_b)] = bench.batch(size_b, durations[0], repeats)
        entry["oom"] = bench.oom(long_s=max(durations), short_s=durations[0])
        bench.clock.close()
        result["sizes"][size] = entry
        del bench
        if cuda:
            torch.cuda.empty_cache()
    result["total_s"] = time.perf_counter() - began
    return result


def _versions() -> dict:
    import importlib.metadata as md

    return {name: md.version(name) for name in ("torch", "diffusers", "transformers")}


def rows(result: dict, budget_s: float) -> list[dict]:
    out = []
    total_gib = result["device_total_gib"]
    for size, entry in result["sizes"].items():
        p = entry["params"]
        out.append({"name": f"{size} params dit/vae/text", "unit": "params",
                    "figure": f"{p['dit']:,}/{p['vae']:,}/{p['text_encoder']:,}"})
        out.append({"name": f"{size} build on device", "figure": entry["build_s"], "unit": "s"})
        for seconds, d in entry["durations"].items():
            tag = f"{size} {seconds}s"
            out.append({"name": f"{tag} compute per audio s", "figure": d["s_per_audio_s"],
                        "unit": "s/s", "baseline": d["total_s"], "goal": "median of runs"})
            for stage in (*STAGES, "other"):
                out.append({"name": f"{tag}   {stage}", "figure": d[f"{stage}_s"], "unit": "s",
                            "baseline": d["total_s"], "ratio": d[f"{stage}_s"] / d["total_s"],
                            "goal": "share of total"})
            if d["peak_vram_gib"] is not None:
                out.append({"name": f"{tag} peak VRAM", "figure": d["peak_vram_gib"],
                            "unit": "GiB", "baseline": total_gib,
                            "ratio": d["peak_vram_gib"] / total_gib, "goal": "< card"})
            out.append({"name": f"{tag} finite, non-silent", "figure": d["peak_abs"],
                        "unit": "peak", "ok": d["finite"] and d["peak_abs"] > 1e-6})
            out.append({"name": f"{tag} same seed -> same audio",
                        "ok": d["same_seed_same_audio"]})
        one = entry["batches"].get("1", {}).get("audio_s_per_gpu_s")
        for size_b, b in entry["batches"].items():
            name = f"{size} batch {size_b} throughput"
            if "error" in b:
                out.append({"name": f"{name}: {b['error'][:60]}", "ok": None})
                continue
            out.append({"name": name, "figure": b["audio_s_per_gpu_s"], "unit": "audio s/s",
                        "baseline": one, "ratio": b["audio_s_per_gpu_s"] / one if one else None,
                        "goal": "vs batch 1"})
        oom = entry["oom"]
        out.append({"name": f"{size} OOM -> error, next job ok"
                            + (" (simulated)" if oom["simulated"] else ""),
                    "figure": oom["error"], "goal": "out of GPU memory",
                    "ok": oom["error"] == "out of GPU memory" and oom["next_job_ok"]})
    # Judged on the GPU only: the CPU run's time says more about the shared CPU.
    cuda = total_gib is not None
    out.append({"name": "whole run incl. build", "figure": result["total_s"], "unit": "s",
                "goal": f"< {budget_s:.0f} s",
                "ok": result["total_s"] < budget_s if cuda else None})
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(prog="python -m bench.gpu",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["turbo"] if cuda else ["tiny"],
                        help="turbo, xl-turbo (CUDA), tiny (default without CUDA)")
    parser.add_argument("--durations", nargs="+", type=int,
                        default=[30, 60, 120] if cuda else [1, 2])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3 if cuda else 2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", type=Path, help="JSON result file (default: "
                        "bench/results/<gpu>.json on CUDA, a temp file without)")
    args = parser.parse_args(argv)
    if not cuda and set(args.sizes) - {"tiny"}:
        parser.error("real sizes need CUDA; without it only --sizes tiny runs")

    result = run(args.sizes, args.durations, args.batches, args.repeats, args.steps, cuda)
    out = args.out or (
        ROOT / "bench" / "results" / f"{_slug(result['device'])}.json" if cuda
        else Path(tempfile.gettempdir()) / "acestep-gpu-bench-cpu.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"# {result['device']} {result['dtype']} {args.steps} steps, "
          f"median of {args.repeats} after a warm-up; result: {out}")
    table_rows = rows(result, budget_s=300 if cuda else 60)
    print(table.render(table_rows))
    return 1 if any(row.get("ok") is False for row in table_rows) else 0


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


if __name__ == "__main__":
    sys.exit(main())
