from flask import Blueprint, Response, current_app, request

from storage import CONTENT_TYPES, ObjectNotFound, audio_key
from tasks.jobs.status import Status
from web.errors import ApiError
from web.job_access import job_format, owned_job

bp = Blueprint("audio", __name__)


@bp.get("/api/audio/<job_id>")
def download(job_id: str):
    record = owned_job(job_id)
    if record.get("expired"):
        raise ApiError(404, "The audio for this job has expired and was deleted")
    if record["status"] != Status.FINISHED:
        raise ApiError(404, f"Audio not ready: the job is {record['status']}")
    storage = current_app.extensions["audio_storage"]
    ext = job_format(record)
    key = audio_key(job_id, ext)
    try:
        size = storage.stat(key).size
    except ObjectNotFound:
        raise ApiError(404, "The audio file for this job is missing") from None

    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="music_{job_id}.{ext}"',
        "Cache-Control": "private, max-age=3600",
    }
    status, start, end = 200, 0, size
    # Malformed or multi-range requests get the whole file (RFC 9110 allows
    # ignoring Range); one satisfiable range gets 206, an unsatisfiable one 416.
    byte_range = request.range
    if byte_range is not None and byte_range.units == "bytes" and len(byte_range.ranges) == 1:
        bounds = byte_range.range_for_length(size)
        if bounds is None:
            raise ApiError(
                416, "Requested range not satisfiable", {"Content-Range": f"bytes */{size}"}
            )
        start, end = bounds
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    try:
        body = storage.iter_range(key, start, end)
    except ObjectNotFound:
        raise ApiError(404, "The audio file for this job is missing") from None
    return Response(
        body, status=status, headers=headers, mimetype=CONTENT_TYPES[ext], direct_passthrough=True
    )
