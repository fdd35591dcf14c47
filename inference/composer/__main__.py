"""Render one prompt to a WAV file.

    python -m inference.composer "lofi hip hop with rain" --duration 30 -o out.wav
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import wave

import numpy as np

from inference.composer import ComposerEngine


def write_wav(path: str, audio: np.ndarray, sample_rate: int) -> None:
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(audio.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m inference.composer", description=__doc__)
    ap.add_argument("prompt")
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--genre")
    ap.add_argument("--seed", type=int)
    ap.add_argument("-o", "--output", default="out.wav")
    args = ap.parse_args(argv)
    engine = ComposerEngine()
    engine.setup()
    try:
        plan = engine.understand(prompt=args.prompt, duration=args.duration, genre=args.genre,
                                 seed=args.seed)
    except ValueError as exc:
        ap.error(str(exc))
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    start = time.perf_counter()
    audio = engine.generate(prompt=args.prompt, duration=args.duration, genre=args.genre,
                            seed=seed)
    elapsed = time.perf_counter() - start
    write_wav(args.output, audio, engine.sample_rate)
    plan["seed"] = seed
    print(json.dumps(plan, indent=2))
    print(f"wrote {args.output}: {args.duration} s in {elapsed:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
