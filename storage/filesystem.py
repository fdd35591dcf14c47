from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.base import CHUNK_SIZE, ObjectInfo, ObjectNotFound, StorageError, check_key

TEMP_PREFIX = ".upload-"
STALE_TEMP_SECONDS = 3600.0  # no upload copy takes an hour: older temporaries are debris


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    return ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))


class FileRange:
    """Bytes [start, end) of an open file, iterated in chunks of at most CHUNK_SIZE.

    It is also a file (read, fileno, close) whose descriptor sits at `start`,
    so an HTTP server can send it with sendfile() given the length (WSGI
    `wsgi.file_wrapper`), without the bytes passing through Python.
    """

    mode = "rb"

    def __init__(self, handle: BinaryIO, start: int, end: int | None) -> None:
        self._handle = handle
        try:
            handle.seek(start)
        except BaseException:
            handle.close()
            raise
        self._left = None if end is None else max(0, end - start)

    def fileno(self) -> int:
        return self._handle.fileno()

    def read(self, size: int = -1) -> bytes:
        if self._left is not None:
            size = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(size) if size else b""
        if self._left is not None:
            self._left -= len(data)
        return data

    def __iter__(self) -> FileRange:
        return self

    def __next__(self) -> bytes:
        chunk = self.read(CHUNK_SIZE)
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        self._handle.close()


class FileStorage:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        if not self.root.is_absolute():
            raise ValueError(f"file storage root must be absolute, got {root!r}")

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: Path, content_type: str = "audio/wav") -> None:
        try:
            src = open(path, "rb")
        except OSError as exc:
            raise StorageError(f"could not read {path}: {exc.strerror or exc}") from exc
        with src:
            self.put_stream(key, lambda out: shutil.copyfileobj(src, out, CHUNK_SIZE), content_type)

    def put_stream(
        self, key: str, write: Callable[[BinaryIO], None], content_type: str = "audio/wav"
    ) -> int:
        dest = self._path(key)
        tmp = None
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            # Written beside the destination, then renamed: readers never see
            # half a file. fsync before the rename (and the folder after) so a
            # crash cannot leave a complete-looking name over missing data.
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=TEMP_PREFIX)
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                size = out.tell()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
            tmp = None
            _fsync_dir(dest.parent)
            return size
        except OSError as exc:
            raise StorageError(f"could not write {key}: {exc.strerror or exc}") from exc
        finally:
            if tmp is not None:  # any failure before the rename: no temporary left behind
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def sweep_temporaries(self, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Delete upload temporaries older than this (left by a process killed mid-copy)."""
        folder = self.root / "audio"
        if not folder.is_dir():
            return 0
        cutoff = time.time() - older_than
        removed = 0
        for path in folder.glob(TEMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def stat(self, key: str) -> ObjectInfo:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        return _info(key, st)

    def open(self, key: str) -> tuple[ObjectInfo, FileRange]:
        handle = self._open(key)
        try:
            st = os.fstat(handle.fileno())
        except BaseException:
            handle.close()
            raise
        return _info(key, st), FileRange(handle, 0, st.st_size)

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> FileRange:
        return FileRange(self._open(key), start, end)

    def _open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb", buffering=0)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def download(self, key: str, dest: Path) -> None:
        try:
            shutil.copyfile(self._path(key), dest)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self) -> Iterator[ObjectInfo]:
        folder = self.root / "audio"
        if not folder.is_dir():
            return
        # Every format's file; not the hidden half-written uploads beside them.
        for path in folder.glob("[!.]*.*"):
            yield _info(f"audio/{path.name}", path.stat())

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"storage root {self.root} is not writable: {exc}") from exc
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"storage root {self.root} is not writable")
