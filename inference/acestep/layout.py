"""What a usable diffusers-format ACE-Step 1.5 directory looks like, checked from its files.

Pure standard library: the worker's parent process runs ``check_pipeline_dir``
before it forks (no torch, no CUDA), ``python -m inference.acestep.prepare``
runs the same function on what it downloaded, and ``check_audio_format`` is
also applied to the loaded VAE in the worker's child.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path

from inference.base import CHANNELS, SAMPLE_RATE, EngineSetupError

# Component -> the file that describes it (models also need safetensors weights).
_DESCRIPTOR = {"scheduler": "scheduler_config.json", "tokenizer": "tokenizer_config.json"}
FLOAT_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
# A safetensors header is JSON; anything past this is not one we wrote or want to parse.
_MAX_HEADER = 100 * 2**20


def check_pipeline_dir(path: Path) -> dict[str, str]:
    """Fail fast, naming the directory and what is wrong; return {component: class}."""
    where = f"ACESTEP_MODEL_DIR {str(path)!r}"
    if not path.is_dir():
        raise EngineSetupError(f"{where} does not exist or is not a directory")
    index = _json(path / "model_index.json", f"{where} has no model_index.json")
    if not isinstance(index, dict) or index.get("_class_name") != "AceStepPipeline":
        found = index.get("_class_name") if isinstance(index, dict) else None
        raise EngineSetupError(
            f"{where}: model_index.json describes {found!r}, expected 'AceStepPipeline'"
        )
    # Every listed component (["library", "Class"], not [null, null]) is loaded
    # from a folder of the same name.
    components = {
        name: spec[1]
        for name, spec in index.items()
        if not name.startswith("_") and isinstance(spec, list) and len(spec) == 2 and any(spec)
    }
    missing = [name for name in components if not (path / name).is_dir()]
    if missing:
        raise EngineSetupError(
            f"{where} is missing component folder(s) {', '.join(missing)} "
            "listed in model_index.json"
        )
    for name in components:
        descriptor = path / name / _DESCRIPTOR.get(name, "config.json")
        _json(descriptor, f"{where}: component {name!r} has no {descriptor.name}")
        if name not in _DESCRIPTOR and not _weight_files(path / name):
            # Only safetensors: other formats are pickles, which we never load.
            raise EngineSetupError(f"{where}: component {name!r} has no .safetensors weights")
    if "vae" in components:
        check_audio_format(_json(path / "vae" / "config.json", ""), where)
    return components


def check_audio_format(vae_config: Mapping, where: str) -> None:
    """The service contract is 48 kHz stereo; another VAE would play at the wrong speed."""
    rate, channels = vae_config.get("sampling_rate"), vae_config.get("audio_channels")
    if rate != SAMPLE_RATE or channels != CHANNELS:
        raise EngineSetupError(
            f"{where}: VAE produces {rate} Hz x {channels} channels, "
            f"expected {SAMPLE_RATE} Hz x {CHANNELS}"
        )


def weight_dtypes(path: Path) -> dict[str, str]:
    """{component: stored float dtype}, read from the safetensors headers alone.

    Mixed or non-float parameter dtypes are refused: the worker casts every
    component to one compute dtype, and a stray float8/int8 tensor means a
    quantised export this engine does not know how to run.
    """
    where = f"ACESTEP_MODEL_DIR {str(path)!r}"
    found = {}
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        kinds = set()
        for file in _weight_files(folder):
            kinds |= {entry["dtype"] for entry in _header(file, where).values()}
        floats = kinds & FLOAT_DTYPES.keys()
        odd = kinds - FLOAT_DTYPES.keys() - {"I64", "I32", "BOOL"}
        if odd or len(floats) > 1:
            raise EngineSetupError(
                f"{where}: {folder.name} weights mix or use unsupported dtypes "
                f"{sorted(kinds)}; expected one of {', '.join(FLOAT_DTYPES.values())}"
            )
        if floats:
            found[folder.name] = FLOAT_DTYPES[floats.pop()]
    return found


def _weight_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors"))


def _header(file: Path, where: str) -> dict:
    try:
        with file.open("rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if not 0 < size <= _MAX_HEADER:
                raise ValueError("bad header size")
            header = json.loads(f.read(size))
    except (OSError, ValueError, struct.error) as exc:
        raise EngineSetupError(f"{where}: {file.parent.name}/{file.name} is not a readable "
                               f"safetensors file ({exc})") from exc
    header.pop("__metadata__", None)
    return header


def _json(file: Path, missing: str):
    if not file.is_file():
        raise EngineSetupError(missing)
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineSetupError(f"{str(file)!r} is not readable JSON: {exc}") from exc
