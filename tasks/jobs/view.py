"""The job as the API shows it (GET /api/jobs/{id}) and webhooks carry it.

In tasks/ rather than web/ because webhook payloads are built where a job's
state changes (a worker, or the API on cancel), not only in the API.
"""

from __future__ import annotations

from tasks.jobs.params import WEBHOOK_FIELDS, JobParams
from tasks.jobs.status import Status

_PUBLIC = (
    "job_id",
    "status",
    "created_at",
    "enqueued_at",
    "started_at",
    "finished_at",
    # The webhook's fields are shown as its own block (web/job_access.py).
    *(name for name in JobParams.names() if name not in WEBHOOK_FIELDS),
    "engine",
    "model",
)


def job_format(record: dict) -> str:
    return record.get("format") or "wav"  # records from before formats existed are WAV


# Export name -> the route that serves it (web/blueprints/exports.py).
EXPORT_ROUTES = {"midi": "midi", "stems": "stems"}


def exports_view(record: dict) -> dict:
    """Each requested export: its URL and size once made, why not when it
    cannot be, else pending (or expired with the audio)."""
    made = record.get("exports_made") or {}
    finished = record["status"] == Status.FINISHED
    view = {}
    for name in record["exports"]:
        entry = made.get(name)
        if entry and entry.get("unavailable"):
            view[name] = {"unavailable": True, "reason": entry.get("reason")}
        elif entry and finished and record.get("expired"):
            view[name] = {"expired": True}
        elif entry and finished:
            view[name] = {"url": f"/api/audio/{record['job_id']}/{EXPORT_ROUTES[name]}",
                          "size_bytes": entry["size_bytes"]}
            if "parts" in entry:
                view[name]["parts"] = entry["parts"]
        elif record["status"] in (Status.QUEUED, Status.STARTED):
            view[name] = {"pending": True}
        else:  # failed or canceled: the job made nothing
            view[name] = {"unavailable": True, "reason": f"the job {record['status']}"}
    return view


def public_job(record: dict) -> dict:
    view = {name: record.get(name) for name in _PUBLIC}
    view = {k: v for k, v in view.items() if v is not None or k in ("genre", "engine")}
    view["format"] = job_format(record)
    view["task"] = record.get("task") or "text2music"
    if view["task"] != "text2music":
        view["segments"] = record.get("segments") or []
        if record.get("snapped"):
            view["snapped"] = record["snapped"]
    status = record["status"]
    if status == Status.QUEUED:
        view["queue_position"] = record.get("queue_position")
    if status == Status.STARTED:
        view["progress"] = int(record.get("progress") or 0)
        if record.get("stage"):
            view["stage"] = record["stage"]
    if status == Status.FINISHED:
        view["progress"] = 100
        for name in ("size_bytes", "peaks"):
            if record.get(name) is not None:
                view[name] = record[name]
        if record.get("expired"):
            view["expired"] = True
        else:
            view["audio_url"] = f"/api/audio/{record['job_id']}"
    if status == Status.FAILED:
        view["error"] = record.get("error") or "generation failed"
    view.pop("exports", None)  # asked for as a list, shown as what became of each
    if record.get("exports"):
        view["exports"] = exports_view(record)
    if record.get("understood"):
        view["understood"] = record["understood"]
    return view
