"""Run a test process with only the packages one of the Dockerfile's images installs.

The API image (Flask, Celery, Flower, beat, the maintenance worker) installs
requirements-api.txt and the encoder image requirements-encode.txt; the worker
image installs everything. The test venv has everything, so a process that
imports numpy where its image has none would pass here and crash in the
container. `image_env` puts a folder first on PYTHONPATH in which every package
the image lacks raises ModuleNotFoundError on import, as it would there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.support.services import ROOT

# The Dockerfile's target -> the requirements file it installs.
IMAGE_REQUIREMENTS = {
    "api": "requirements-api.txt",
    "encoder": "requirements-encode.txt",
    "worker": "requirements.txt",
}
# Distribution name -> top-level import name, where the two differ.
_IMPORT_NAMES = {"prometheus-client": "prometheus_client"}


def requirements(filename: str) -> set[str]:
    """The distributions a requirements file names, following its -r includes."""
    names: set[str] = set()
    for raw in Path(ROOT, filename).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r"):
            names |= requirements(line[2:].strip())
        elif line:
            names.add(re.split(r"[\[<>=!~ ;]", line, maxsplit=1)[0].lower())
    return names


def missing_imports(image: str) -> set[str]:
    """Import names of what the worker image has and `image` lacks."""
    lacking = requirements(IMAGE_REQUIREMENTS["worker"]) - requirements(IMAGE_REQUIREMENTS[image])
    return {_IMPORT_NAMES.get(name, name.replace("-", "_")) for name in lacking}


def image_env(image: str, folder: Path, env: dict | None = None) -> dict:
    """`env` (default: this process's) for a process with `image`'s packages only."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in missing_imports(image):
        package = folder / name
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text(
            f"raise ModuleNotFoundError({f'No module named {name!r} (not in the {image} image)'!r},"
            f" name={name!r})\n"
        )
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH")) if p)
    return env
