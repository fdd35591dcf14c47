from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 256 * 1024
# File extension -> media type of each stored audio format.
CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "opus": "audio/ogg"}
# Files made beside a job's audio (its exports): extension -> media type.
EXPORT_TYPES = {"mid": "audio/midi", "zip": "application/zip"}
_KEY_RE = re.compile(  # \Z: `$` lets "...wav\n" in
    rf"^audio/[A-Za-z0-9_-]{{1,64}}\.(?:{'|'.join((*CONTENT_TYPES, *EXPORT_TYPES))})\Z"
)


class StorageError(RuntimeError):
    """A transient failure talking to the store; the caller may retry."""


class ObjectNotFound(KeyError):
    pass


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime


def audio_key(job_id: str, ext: str = "wav") -> str:
    return check_key(f"audio/{job_id}.{ext}")


def key_job_id(key: str) -> str:
    """audio/{job_id}.{ext} -> job_id."""
    return key.removeprefix("audio/").rpartition(".")[0]


def check_key(key: str) -> str:
    if not _KEY_RE.match(key):
        raise ValueError(f"storage key {key!r} is outside audio/ or malformed")
    return key


class Storage(Protocol):
    def put_file(self, key: str, path: Path, content_type: str = "audio/wav") -> None: ...

    def put_stream(
        self, key: str, write: Callable[[BinaryIO], None], content_type: str = "audio/wav"
    ) -> int:
        """Store what `write(file)` writes (all or nothing); returns its size in bytes.

        The caller's bytes go straight to where they are kept (the file store's
        own temporary), with no staging file of the caller's to copy from.
        """
        ...

    def stat(self, key: str) -> ObjectInfo: ...

    def open(self, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        """The whole object's bytes (as iter_range) with what stat() says of
        that very version, in one call to the store instead of two."""
        ...

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield bytes [start, end) in chunks of at most CHUNK_SIZE."""
        ...

    def download(self, key: str, dest: Path) -> None: ...

    def delete(self, key: str) -> None: ...

    def list(self) -> Iterator[ObjectInfo]:
        """Every object under audio/."""
        ...

    def ping(self) -> None: ...
