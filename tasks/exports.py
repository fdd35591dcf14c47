"""A job's exports (MIDI, stems): which an engine can make, and making them.

Only an engine that knows its notes and parts (the composer: its
``describe()`` lists ``exports``) can make them; for any other the export
is recorded as unavailable with the reason, and the job finishes as usual.
They are made on the `encode` queue's CPU workers (tasks.encode), never on
the music worker: the composer is deterministic, so the CPU worker renders
the job's parts again from its request and seed (about 1/40 of the audio's
duration) instead of the music worker shipping hundreds of MB of parts
through storage. Each export lands beside the audio as ``audio/{id}.mid`` and
``audio/{id}.zip``, so retention deletes it with the audio.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from functools import cache

from storage import EXPORT_TYPES, StorageError, audio_key
from tasks.jobs.params import EXPORTS, JobParams

log = logging.getLogger("tasks.exports")

EXT = {"midi": "mid", "stems": "zip"}
_WHAT = {"midi": "MIDI file", "stems": "stems"}


def export_keys(job_id: str) -> list[str]:
    """Every storage key an export of this job may have."""
    return [audio_key(job_id, ext) for ext in EXT.values()]


def plan_exports(requested: list[str], engine_info: dict) -> tuple[dict, list[str]]:
    """(exports recorded unavailable now, exports to make on the CPU queue)."""
    able = set(engine_info.get("exports") or ())
    name = engine_info.get("engine") or "this"
    unavailable = {
        e: {"unavailable": True,
            "reason": f"the {name} engine renders a finished mix only: it has no notes or "
                      f"separate instruments to export (MIDI and stems come from the composer)"}
        for e in requested if e not in able}
    return unavailable, [e for e in requested if e in able]


@cache
def _composer():
    # numpy/scipy: only the worker images have them (Flower and beat load tasks.encode).
    from inference.composer import ComposerEngine

    return ComposerEngine()


def make_exports(job_id: str, record: dict, names: list[str], storage,
                 attempts: int = 3) -> dict:
    """Make and store each named export; never raises: a failed one is
    recorded unavailable with the reason, and the job keeps its audio."""
    from inference.composer import midi, stems
    from inference.composer.engine import GROUPS

    names = [n for n in EXPORTS if n in names]
    try:
        params = JobParams.from_record(record)
        perf = _composer().perform(**params.engine_inputs(), stems="stems" in names)
    except Exception:
        log.exception("rendering the parts failed", extra={"job_id": job_id})
        return {n: _failed(n) for n in names}
    made: dict = {}
    with tempfile.TemporaryDirectory(prefix="exports-") as folder:
        for name in names:
            path = os.path.join(folder, f"out.{EXT[name]}")
            try:
                extra = {}
                if name == "midi":
                    with open(path, "wb") as f:
                        f.write(midi.to_midi(perf))
                else:
                    with open(path, "wb") as f:
                        extra["parts"] = stems.to_zip(perf.stems, GROUPS, f"music_{job_id}", f)
                key = audio_key(job_id, EXT[name])
                _upload(storage, key, path, attempts)
                made[name] = {"key": key, "size_bytes": os.path.getsize(path), **extra}
            except StorageError as exc:
                log.warning("could not store the %s (%s)", name, exc, extra={"job_id": job_id})
                made[name] = {"unavailable": True,
                              "reason": f"could not store the {_WHAT[name]}; please try again"}
            except Exception:
                log.exception("making the %s failed", name, extra={"job_id": job_id})
                made[name] = _failed(name)
    return made


def _failed(name: str) -> dict:
    return {"unavailable": True, "reason": f"internal error while making the {_WHAT[name]}"}


def _upload(storage, key: str, path: str, attempts: int) -> None:
    for attempt in range(attempts):
        try:
            storage.put_file(key, path, EXPORT_TYPES[key.rpartition(".")[2]])
            return
        except StorageError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * 2**attempt)
