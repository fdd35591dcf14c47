"""Run ACE-Step's `acestep-api` on a given checkpoint folder, timing its engine.

    .venv-acestep/bin/python bench/acestep_api_serve.py CHECKPOINTS PORT COMPUTE_LOG

Runs in the acestep-api virtualenv, not the service's. acestep-api reads its
models from `<site-packages>/checkpoints` (the folder above its package), so
that name is pointed at CHECKPOINTS first. Then its handler's
`generate_music` (text encoder, DiT, VAE decode: the engine, below the
job queue and the audio file) is wrapped with a timer that appends one JSON
line per call to COMPUTE_LOG, and the server starts exactly as its
`acestep-api` entry point starts it (one process, its in-memory queue).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path


def _point_checkpoints(target: Path) -> None:
    package = Path(importlib.util.find_spec("acestep").origin).parent
    link = package.parent / "checkpoints"
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        raise SystemExit(f"{link} is a real folder; move it away to run the bench")
    link.symlink_to(target.resolve(), target_is_directory=True)


def _time_engine(log_path: str) -> None:
    from acestep.handler import AceStepHandler

    generate = AceStepHandler.generate_music

    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return generate(self, *args, **kwargs)
        finally:
            line = json.dumps({"at": time.time(), "seconds": time.perf_counter() - started})
            with open(log_path, "a") as log:
                log.write(line + "\n")

    AceStepHandler.generate_music = timed


def main() -> None:
    checkpoints, port, log_path = sys.argv[1:4]
    _point_checkpoints(Path(checkpoints))
    _time_engine(log_path)
    from acestep.api_server import main as serve

    sys.argv = ["acestep-api", "--host", "127.0.0.1", "--port", port]
    serve()


if __name__ == "__main__":
    os.environ.setdefault("ACESTEP_INIT_LLM", "false")
    main()
