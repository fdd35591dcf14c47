"""Weights one command away: ``python -m inference.acestep.prepare`` (``make model``).

Downloads the officially published diffusers-format ACE-Step 1.5 turbo pipeline
into ``models/<name>`` with ``huggingface_hub.snapshot_download``, checks it
with the worker's own start-up checks (``inference.acestep.layout``) plus the
stored weight dtypes, and prints the ``ACESTEP_MODEL_DIR`` to set.

    python -m inference.acestep.prepare                      # download + verify
    python -m inference.acestep.prepare --verify DIR         # verify only

The default repository is the one diffusers' ACE-Step docs name for turbo
(``ACE-Step/acestep-v15-xl-turbo-diffusers``, the XL turbo). The 2B turbo is
published only in ACE-Step's own layout; README.md gives its conversion route.
Exit status: 0 ready, 1 download or verification failed (one sentence on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inference.acestep.layout import check_pipeline_dir, weight_dtypes
from inference.base import EngineSetupError

DEFAULT_REPO = "ACE-Step/acestep-v15-xl-turbo-diffusers"
DEFAULT_DIR = Path("models")
# Pickled formats are never loaded (the worker reads safetensors only), and the
# converter's debug copy of silence_latent.pt is already baked into the weights.
IGNORE = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.msgpack", "*.h5", "*.onnx*"]


def download(repo: str, target: Path, revision: str | None = None) -> Path:
    """``snapshot_download`` into ``target``; any failure is one EngineSetupError sentence."""
    from huggingface_hub import constants, snapshot_download

    try:
        path = snapshot_download(
            repo_id=repo, revision=revision, local_dir=target, ignore_patterns=IGNORE
        )
    except Exception as exc:
        # huggingface_hub's own reading of HF_HUB_OFFLINE.
        offline = constants.HF_HUB_OFFLINE
        why = "HF_HUB_OFFLINE is set" if offline else f"{type(exc).__name__}: {_first_line(exc)}"
        raise EngineSetupError(
            f"cannot download {repo} from the Hugging Face Hub into {str(target)!r} ({why}); "
            "run this where huggingface.co is reachable, or copy a prepared directory and "
            "use --verify"
        ) from exc
    return Path(path)


def verify(path: Path) -> dict:
    """The worker's start-up checks plus the stored dtypes; returns a summary."""
    components = check_pipeline_dir(path)
    dtypes = weight_dtypes(path)
    transformer = json.loads((path / "transformer" / "config.json").read_text(encoding="utf-8"))
    return {
        "path": str(path.resolve()),
        "components": sorted(components),
        "dtypes": sorted(set(dtypes.values())),
        "turbo": bool(transformer.get("is_turbo")),
        "dit": f"{transformer.get('num_hidden_layers')} layers x {transformer.get('hidden_size')}",
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no detail"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.acestep.prepare",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=DEFAULT_REPO, help=f"default {DEFAULT_REPO}")
    parser.add_argument("--revision", help="a branch, tag or commit of --repo")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                        help="parent folder of the pipeline directory (default models/)")
    parser.add_argument("--verify", type=Path, metavar="DIR",
                        help="only check an existing pipeline directory")
    args = parser.parse_args(argv)
    try:
        if args.verify is not None:
            path = args.verify
        else:
            path = args.dir / args.repo.rsplit("/", 1)[-1]
            print(f"prepare: downloading {args.repo} into {path} ...", flush=True)
            path = download(args.repo, path, args.revision)
        summary = verify(path)
    except EngineSetupError as exc:
        print(f"prepare: {exc}", file=sys.stderr)
        return 1
    print(f"prepare: {summary['path']} is ready: {len(summary['components'])} components, "
          f"weights {'/'.join(summary['dtypes'])}, DiT {summary['dit']}, "
          f"{'turbo' if summary['turbo'] else 'NOT turbo (set ACESTEP_STEPS/GUIDANCE)'}")
    print(f"ACESTEP_MODEL_DIR={summary['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
