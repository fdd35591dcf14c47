"""Render one prompt to a WAV file.

    python -m inference.composer "lofi hip hop with rain" --duration 30 -o out.wav
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from inference.base import resolve_seed
from inference.composer import ComposerEngine
from inference.song_args import add_song_arguments, song_fields
from inference.wav import write_wav


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m inference.composer", description=__doc__)
    ap.add_argument("prompt")
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--genre")
    ap.add_argument("--seed", type=int)
    ap.add_argument("-o", "--output", default="out.wav")
    add_song_arguments(ap)
    args = ap.parse_args(argv)
    song = song_fields(args)
    engine = ComposerEngine()
    engine.setup()
    seed = resolve_seed(args.seed)
    try:
        plan = engine.understand(prompt=args.prompt, duration=args.duration, genre=args.genre,
                                 seed=seed, **song)
    except ValueError as exc:
        ap.error(str(exc))
    start = time.perf_counter()
    audio = engine.generate(prompt=args.prompt, duration=args.duration, genre=args.genre,
                            seed=seed, **song)
    elapsed = time.perf_counter() - start
    write_wav(args.output, audio, engine.sample_rate)
    print(json.dumps(plan, indent=2))
    print(f"wrote {args.output}: {args.duration} s in {elapsed:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
