"""GPU smoke test with the real weights: ``python -m inference.acestep.smoke [SECONDS]``.

Runs one generation from ``ACESTEP_MODEL_DIR`` and prints the real-time factor
(seconds of compute per second of audio) and peak VRAM. Without CUDA it says so
and exits 0, so ``make gpu-smoke`` is harmless on CPU-only machines.
"""

from __future__ import annotations

import argparse
import sys
import time

from inference.song_args import add_song_arguments, song_fields


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.acestep.smoke")
    parser.add_argument("duration", nargs="?", type=int, default=30, help="seconds of audio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="optional path of a 16-bit WAV to write")
    add_song_arguments(parser)
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("acestep smoke: no CUDA device is available; skipping the GPU smoke test")
        return 0

    from inference import get_engine

    engine = get_engine("acestep")
    started = time.perf_counter()
    engine.setup()
    load_s = time.perf_counter() - started
    print(f"acestep smoke: loaded {engine.describe()} in {load_s:.1f} s")

    torch.cuda.reset_peak_memory_stats()
    steps: list[float] = []
    started = time.perf_counter()
    audio = engine.generate(
        prompt="warm lofi hip hop with mellow piano and vinyl crackle",
        duration=args.duration,
        seed=args.seed,
        progress=steps.append,
        **song_fields(args),
    )
    torch.cuda.synchronize()
    compute_s = time.perf_counter() - started
    peak_gib = torch.cuda.max_memory_allocated() / 2**30
    print(
        f"acestep smoke: {args.duration} s of audio {audio.shape} in {compute_s:.2f} s "
        f"({len(steps)} steps) -> {compute_s / args.duration:.3f} s compute per s of audio; "
        f"peak VRAM {peak_gib:.2f} GiB on {torch.cuda.get_device_name()}"
    )
    if args.out:
        from inference.wav import write_wav

        write_wav(args.out, audio, engine.sample_rate)
        print(f"acestep smoke: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
