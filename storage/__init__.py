"""Audio object storage chosen by ``STORAGE_URL``.

    file:///abs/path      -> FileStorage (the default for `make run`)
    s3://bucket/prefix    -> S3Storage (boto3; S3_ENDPOINT_URL for MinIO/R2)

Keys are always ``audio/{job_id}.{ext}`` (ext: wav, flac, mp3, opus, and the
exports mid and zip); anything
else is refused, so no caller can reach an object outside ``audio/``. Storage knows nothing of HTTP.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from storage.base import (
    CHUNK_SIZE,
    CONTENT_TYPES,
    EXPORT_TYPES,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageError,
    audio_key,
    check_key,
    key_job_id,
)

__all__ = [
    "CHUNK_SIZE",
    "CONTENT_TYPES",
    "EXPORT_TYPES",
    "ObjectInfo",
    "ObjectNotFound",
    "Storage",
    "StorageError",
    "audio_key",
    "check_key",
    "key_job_id",
    "open_storage",
]


def open_storage(url: str, *, endpoint_url: str | None = None, fail_fast: bool = False) -> Storage:
    """`fail_fast`: short timeouts and one retry, for callers with a client waiting."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        from storage.filesystem import FileStorage

        return FileStorage(unquote(parts.path))
    if parts.scheme == "s3":
        from storage.s3 import S3Storage

        return S3Storage(
            parts.netloc, parts.path.strip("/"), endpoint_url=endpoint_url or None,
            fail_fast=fail_fast,
        )
    raise ValueError(f"STORAGE_URL must be file:///abs/path or s3://bucket/prefix, got {url!r}")
