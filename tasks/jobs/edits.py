"""Edits of a finished job (extend, repaint, cover): the source's checks and the resolved job.

One function, `resolve`, used by the API before it records a job and by the
`music.generate` task for messages sent straight to Celery, so both answer the
same: unknown source 404, another owner's 403 (as the job routes), not finished
409, audio expired 410, a source no engine here can edit 409, a result longer
than MAX_EDIT_DURATION or a range outside the source 422.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inference.contract import resolve_seed
from tasks.jobs.params import (
    FRAME_FIELDS,
    MAX_EDIT_DURATION,
    MAX_REPAINT,
    MIN_REPAINT,
    SONG_FIELDS,
    InvalidParams,
    JobParams,
)
from tasks.jobs.status import Status
from tasks.jobs.store import JOB_ID_RE, JobStore

# Engines (and composer versions) whose tracks can be edited. The composer
# re-plans the piece from the record, so only the version that made it can.
EDITABLE_MODELS = {"composer": ("composer-2",), "acestep": None}  # None: any model
# Engines that re-create a job's samples exactly from its record, so their lossy
# jobs store no master (tasks/encode.py); the record's `master` then says RECREATE.
RECREATES = ("composer",)
RECREATE = "recreate"
# What an edit inherits from its source when the request leaves it out.
INHERITED = ("prompt", "genre", *SONG_FIELDS, "format")


class SourceRefused(Exception):
    """The source job cannot be edited; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Edit:
    """A resolved edit: the job's fields (as the record and message hold them),
    its result's length in seconds and the segments it keeps and makes."""

    fields: dict
    duration: int
    segments: list[dict]

    def record_fields(self) -> dict:
        return {**self.fields, "duration": self.duration, "segments": self.segments}


def source_record(jobs: JobStore, job_id: str, owner: str | None) -> dict:
    """The source job's record, checked as the job routes check a job
    (owner None: a trusted batch caller, who may edit any job)."""
    record = jobs.get(job_id) if JOB_ID_RE.match(job_id) else None
    if record is None:
        raise SourceRefused(404, "Job not found")
    if owner is not None and record.get("owner") != owner:
        raise SourceRefused(403, "This job belongs to another session")
    if record.get("expired"):
        raise SourceRefused(410, "source_job's audio has expired and was deleted")
    if record["status"] != Status.FINISHED:
        raise SourceRefused(
            409, f"source_job is {record['status']}: only a finished job can be edited")
    why = cannot_edit(record)
    if why:
        raise SourceRefused(409, f"source_job cannot be edited: {why}")
    return record


def cannot_edit(record: dict) -> str | None:
    engine, model = record.get("engine"), record.get("model")
    if engine not in EDITABLE_MODELS:
        return f"it was made by the {engine or 'unknown'} engine, which has no edit tasks"
    models = EDITABLE_MODELS[engine]
    if models is not None and model not in models:
        return f"it was made by {engine} {model}; this composer ({', '.join(models)}) " \
               "cannot re-create it"
    if engine == "composer" and record.get("task", "text2music") != "text2music":
        return "the composer edits the pieces it composed from a prompt: edit the original"
    if not record.get("master"):
        return "it has no lossless master (made before edits were possible)"
    return None


def default_extend_from(source: dict) -> int:
    """Where the source's last section starts when it is an outro, else its end."""
    duration = int(source["duration"])
    sections = (source.get("understood") or {}).get("sections") or []
    if sections and sections[-1].get("name") == "outro":
        return max(1, min(duration, math.floor(float(sections[-1]["start"]))))
    return duration


def resolve(jobs: JobStore, params: JobParams, owner: str | None) -> Edit:
    """The edit's job fields from the request and its source (raises SourceRefused)."""
    source = source_record(jobs, params.source_job, owner)
    given = params.model_fields_set
    fields = params.as_dict()
    length = int(source["duration"])
    for name in INHERITED:
        if name in given or source.get(name) is None:
            continue
        if name == "lyrics" and params.instrumental and "instrumental" in given:
            continue  # asked for no voice: the source's words are not inherited
        if name in ("instrumental", "vocal_language") and "lyrics" in given:
            continue  # resolved from the new lyrics
        fields[name] = source[name]
    if params.task == "extend":
        for name in FRAME_FIELDS:
            fields.pop(name, None)  # the engine takes the frame from the source itself
        start = params.extend_from or default_extend_from(source)
        if start > length:
            raise InvalidParams(f"extend_from must be within the source (1 to {length} s)")
        result = start + params.extend_by
        if result > MAX_EDIT_DURATION:
            raise InvalidParams(f"an extended track is at most {MAX_EDIT_DURATION} s: "
                                f"extend_from {start} + extend_by {params.extend_by} = {result}")
        fields["extend_from"] = start
        segments = [segment(0, start, "kept"), segment(start, result, "new")]
        length = result
    elif params.task == "repaint":
        if not MIN_REPAINT <= params.end - params.start <= MAX_REPAINT:
            raise InvalidParams(f"repaint: end - start must be {MIN_REPAINT} to {MAX_REPAINT} "
                                f"seconds (got {params.end - params.start:g})")
        if params.end > length:
            raise InvalidParams(f"start and end must lie inside the source (0 to {length} s)")
        segments = [s for s in (segment(0, params.start, "kept"),
                                segment(params.start, params.end, "new"),
                                segment(params.end, length, "kept")) if s["end"] > s["start"]]
    else:
        segments = [segment(0, length, "new")]
    fields["seed"] = resolve_seed(params.seed)
    return Edit(fields, length, segments)


def segment(start: float, end: float, kind: str) -> dict:
    return {"start": round(float(start), 3), "end": round(float(end), 3), "kind": kind}
