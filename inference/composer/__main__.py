"""Render one prompt to a WAV file.

    python -m inference.composer "lofi hip hop with rain" --duration 30 -o out.wav
    python -m inference.composer "folk song" --lyrics-file song.txt --bpm 96 --key "D minor"
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from inference.base import resolve_seed
from inference.composer import ComposerEngine
from inference.contract import normalize_key
from inference.wav import write_wav


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m inference.composer", description=__doc__)
    ap.add_argument("prompt")
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--genre")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--lyrics-file", help="UTF-8 text, optionally with [verse]/[chorus] tags")
    ap.add_argument("--bpm", type=int)
    ap.add_argument("--key", help="e.g. 'F# minor'")
    ap.add_argument("--time-signature", choices=("2/4", "3/4", "4/4", "6/8"))
    ap.add_argument("--vocal-language")
    ap.add_argument("-o", "--output", default="out.wav")
    args = ap.parse_args(argv)
    engine = ComposerEngine()
    engine.setup()
    seed = resolve_seed(args.seed)
    try:
        song = {"bpm": args.bpm, "time_signature": args.time_signature,
                "vocal_language": args.vocal_language,
                "key": normalize_key(args.key) if args.key else None,
                "lyrics": open(args.lyrics_file, encoding="utf-8").read()
                if args.lyrics_file else None}
        plan = engine.understand(prompt=args.prompt, duration=args.duration, genre=args.genre,
                                 seed=seed, **song)
    except (ValueError, OSError) as exc:
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
