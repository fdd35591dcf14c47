from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.base import CHUNK_SIZE, ObjectInfo, ObjectNotFound, StorageError, check_key

# 120 s of 48 kHz stereo 16-bit is 23 MB: parts of 8 MB upload in parallel.
_TRANSFER = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
_SPOOL_BYTES = 24 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}
# (connect s, per-read s, attempts). Patient for uploads and the purge; fail-fast
# for a caller that has someone waiting (a download answers 503 within ~5 s).
_PATIENT = (3, 30, 3)
_FAIL_FAST = (1, 1.5, 2)


class S3Storage:
    def __init__(
        self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
        fail_fast: bool = False,
    ) -> None:
        if not bucket:
            raise ValueError("STORAGE_URL s3://bucket/prefix needs a bucket name")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        connect, read, attempts = _FAIL_FAST if fail_fast else _PATIENT
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(
                connect_timeout=connect,
                read_timeout=read,
                retries={"max_attempts": attempts, "mode": "standard"},
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
        )

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _call(self, key: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ObjectNotFound(key) from None
            if code == "InvalidRange":
                raise ValueError(f"invalid range for {key}") from None
            raise StorageError(f"S3 error on {key}: {code}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 unreachable for {key}: {exc}") from exc

    def put_file(self, key: str, path: Path, content_type: str = "audio/wav") -> None:
        # Managed transfer: multipart above the threshold; an object appears only
        # once complete, so a failed upload never leaves half a file to serve.
        self._call(
            key,
            self.client.upload_file,
            str(path),
            self.bucket,
            self._name(key),
            ExtraArgs={"ContentType": content_type},
            Config=_TRANSFER,
        )

    def put_stream(
        self, key: str, write: Callable[[BinaryIO], None], content_type: str = "audio/wav"
    ) -> int:
        # Staged in memory up to a 120 s WAV's size (a disk file past it): the
        # managed transfer needs the whole object's length to pick multipart.
        name = self._name(key)
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as body:
            write(body)
            size = body.tell()
            body.seek(0)
            self._call(
                key,
                self.client.upload_fileobj,
                body,
                self.bucket,
                name,
                ExtraArgs={"ContentType": content_type},
                Config=_TRANSFER,
            )
        return size

    def stat(self, key: str) -> ObjectInfo:
        head = self._call(key, self.client.head_object, Bucket=self.bucket, Key=self._name(key))
        return ObjectInfo(key, head["ContentLength"], head["LastModified"])

    def open(self, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        got = self._call(key, self.client.get_object, Bucket=self.bucket, Key=self._name(key))
        info = ObjectInfo(key, got["ContentLength"], got["LastModified"])
        return info, self._stream(key, got["Body"])

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        kwargs = {"Bucket": self.bucket, "Key": self._name(key)}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        body = self._call(key, self.client.get_object, **kwargs)["Body"]
        return self._stream(key, body)

    @staticmethod
    def _stream(key: str, body) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        except BotoCoreError as exc:
            raise StorageError(f"S3 read of {key} broke off: {exc}") from exc
        finally:
            body.close()

    def download(self, key: str, dest: Path) -> None:
        self._call(key, self.client.download_file, self.bucket, self._name(key), str(dest))

    def delete(self, key: str) -> None:
        self._call(key, self.client.delete_object, Bucket=self.bucket, Key=self._name(key))

    def list(self) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call(
            "audio/", paginator.paginate, Bucket=self.bucket, Prefix=self.prefix + "audio/"
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    yield ObjectInfo(key, item["Size"], item["LastModified"])
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 listing failed: {exc}") from exc

    def ping(self) -> None:
        self._call("audio/", self.client.head_bucket, Bucket=self.bucket)
