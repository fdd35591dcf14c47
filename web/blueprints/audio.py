from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, current_app, request
from werkzeug.http import http_date
from werkzeug.wsgi import wrap_file

from storage import CHUNK_SIZE, CONTENT_TYPES, ObjectInfo, ObjectNotFound, StorageError, audio_key
from tasks.jobs.status import Status
from web.errors import ApiError
from web.extensions import read_limit
from web.job_access import job_format, owned_job

bp = Blueprint("audio", __name__)

_STORAGE_DOWN = "Audio storage is unavailable right now; please retry shortly"


@bp.get("/api/audio/<job_id>")
@read_limit
def download(job_id: str):
    record = finished_job(job_id)
    ext = job_format(record)
    return send_object(audio_key(job_id, ext), f"music_{job_id}.{ext}", CONTENT_TYPES[ext],
                       "The audio file for this job is missing")


def finished_job(job_id: str) -> dict:
    """The caller's finished job whose audio is still kept: else 403/404."""
    record = owned_job(job_id)
    if record.get("expired"):
        raise ApiError(404, "The audio for this job has expired and was deleted")
    if record["status"] != Status.FINISHED:
        raise ApiError(404, f"Audio not ready: the job is {record['status']}")
    return record


def send_object(key: str, filename: str, mimetype: str, missing: str) -> Response:
    """Stream a stored object with ETag, Last-Modified and one byte range."""
    storage = current_app.extensions["audio_storage"]
    # Malformed or multi-range requests get the whole file (RFC 9110 allows
    # ignoring Range); one satisfiable range gets 206, an unsatisfiable one 416.
    byte_range = request.range
    if byte_range is not None and (byte_range.units != "bytes" or len(byte_range.ranges) != 1):
        byte_range = None
    body = None
    with _storage_errors(missing):
        # A plain GET (most downloads) opens the object and learns its size and
        # date in one call; a range needs them before it can say which bytes.
        if byte_range is None and request.method != "HEAD":
            info, body = storage.open(key)
        else:
            info = storage.stat(key)
    size, etag = info.size, entity_tag(info)

    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, max-age=3600",
        "ETag": etag,
        "Last-Modified": http_date(info.modified),
    }
    status, start, end = 200, 0, size
    if byte_range is not None and if_range_matches(etag, info):
        first, last = byte_range.ranges[0]
        # A suffix longer than the file selects all of it (RFC 9110 14.1.2).
        bounds = (0, size) if first < 0 and -first >= size > 0 else (
            byte_range.range_for_length(size)
        )
        if bounds is None:
            raise ApiError(
                416, "Requested range not satisfiable", {"Content-Range": f"bytes */{size}"}
            )
        start, end = bounds
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if body is None:
        with _storage_errors(missing):
            body = storage.iter_range(key, start, end)
    if hasattr(body, "fileno"):
        # A file on disk: the server may hand its descriptor to sendfile()
        # (gunicorn does, for Content-Length bytes from its position).
        body = wrap_file(request.environ, body, CHUNK_SIZE)
    return Response(body, status=status, headers=headers, mimetype=mimetype,
                    direct_passthrough=True)


@contextmanager
def _storage_errors(missing: str) -> Iterator[None]:
    try:
        yield
    except ObjectNotFound:
        raise ApiError(404, missing) from None
    except StorageError:
        raise ApiError(503, _STORAGE_DOWN, {"Retry-After": "5"}) from None


def entity_tag(info: ObjectInfo) -> str:
    """Strong ETag from size and modification time: a re-run rewrites the same
    key, and a resumed download must not splice two renders together."""
    return f'"{info.size:x}-{int(info.modified.timestamp() * 1_000_000):x}"'


def if_range_matches(etag: str, info: ObjectInfo) -> bool:
    """False when If-Range names another version: then the whole file is sent."""
    raw = request.headers.get("If-Range", "").strip()
    if raw.startswith(('"', "W/")):
        return raw == etag  # strong comparison: a weak tag never matches
    condition = request.if_range
    if condition.date is not None:
        return int(condition.date.timestamp()) == int(info.modified.timestamp())
    return True
