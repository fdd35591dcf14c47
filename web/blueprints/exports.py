"""`GET /api/audio/{id}/midi` and `/stems`: a finished job's exports.

The same rules as the audio itself (web/blueprints/audio.py): the owner
only, finished and not expired, ETag/Last-Modified and one byte range. An
export the job did not ask for, or could not have, is a 404 saying why.
"""

from __future__ import annotations

from flask import Blueprint

from storage import EXPORT_TYPES, audio_key
from web.blueprints.audio import finished_job, send_object
from web.errors import ApiError
from web.extensions import read_limit

bp = Blueprint("exports", __name__)

# route -> (export name, stored extension, download name suffix)
_ROUTES = {"midi": ("midi", "mid", ".mid"), "stems": ("stems", "zip", "_stems.zip")}
_WHAT = {"midi": "MIDI file", "stems": "stems"}


@bp.get("/api/audio/<job_id>/midi")
@read_limit
def midi(job_id: str):
    return _export(job_id, "midi")


@bp.get("/api/audio/<job_id>/stems")
@read_limit
def stems(job_id: str):
    return _export(job_id, "stems")


def _export(job_id: str, route: str):
    name, ext, suffix = _ROUTES[route]
    record = finished_job(job_id)
    if name not in (record.get("exports") or []):
        raise ApiError(404, f"This job did not ask for its {_WHAT[name]} "
                            f"(send exports: ['{name}'] with the job)")
    made = (record.get("exports_made") or {}).get(name) or {}
    if made.get("unavailable") or "key" not in made:
        reason = made.get("reason") or "it was not made"
        raise ApiError(404, f"This job's {_WHAT[name]} is unavailable: {reason}")
    return send_object(audio_key(job_id, ext), f"music_{job_id}{suffix}", EXPORT_TYPES[ext],
                       f"The {_WHAT[name]} for this job is missing")
