"""File storage: no temporaries left behind, durable renames, stale temporaries swept."""

from __future__ import annotations

import os
import time

import pytest

from storage import StorageError
from storage.filesystem import FileStorage

KEY = "audio/durable00001.wav"


def _temps(root):
    return list((root / "audio").glob(".upload-*"))


def test_a_failed_copy_leaves_no_temporary(tmp_path, monkeypatch):
    storage = FileStorage(tmp_path / "store")
    source = tmp_path / "src.wav"
    source.write_bytes(b"RIFF" + b"\0" * 1000)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StorageError, match="No space left"):
        storage.put_file(KEY, source)
    assert _temps(tmp_path / "store") == []
    assert not (tmp_path / "store" / KEY).exists()


def test_a_missing_source_leaves_no_temporary(tmp_path):
    storage = FileStorage(tmp_path / "store")
    with pytest.raises(StorageError):
        storage.put_file(KEY, tmp_path / "nowhere.wav")
    assert _temps(tmp_path / "store") == []


def test_data_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    storage = FileStorage(tmp_path / "store")
    source = tmp_path / "src.wav"
    source.write_bytes(b"x" * 5000)
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        calls.append(("replace", None))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    storage.put_file(KEY, source)
    assert calls == [("fsync", False), ("replace", None), ("fsync", True)]
    assert (tmp_path / "store" / KEY).read_bytes() == b"x" * 5000


def test_retention_sweeps_only_stale_temporaries(tmp_path, make_settings):
    from tasks.jobs.retention import purge

    root = tmp_path / "store"
    (root / "audio").mkdir(parents=True)
    stale, fresh = root / "audio" / ".upload-old", root / "audio" / ".upload-new"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"in progress")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    from tasks.config.services import audio_storage, job_store

    settings = make_settings(storage_url=root.as_uri())
    result = purge(job_store(settings), audio_storage(settings), settings)
    assert result["temporaries_deleted"] == 1
    assert _temps(root) == [fresh]
