"""One contract, both backends: file:// and s3:// (moto)."""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from storage import ObjectNotFound, audio_key, check_key, open_storage

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, so chunking and ranges are exercised


def fake_aws_credentials(monkeypatch) -> None:
    # moto intercepts the calls; boto3 still wants credentials and a region to sign with.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(params=["file", "s3"])
def storage(request, tmp_path, monkeypatch):
    if request.param == "file":
        yield open_storage((tmp_path / "store").as_uri())
        return
    fake_aws_credentials(monkeypatch)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="music")
        yield open_storage("s3://music/prod")


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "in.wav"
    path.write_bytes(PAYLOAD)
    return path


def test_put_stat_read_delete(storage, source):
    key = audio_key("job123456")
    storage.put_file(key, source)
    assert storage.stat(key).size == len(PAYLOAD)
    assert b"".join(storage.iter_range(key)) == PAYLOAD
    assert [i.key for i in storage.list()] == [key]
    storage.delete(key)
    with pytest.raises(ObjectNotFound):
        storage.stat(key)
    assert list(storage.list()) == []


def test_every_format_has_its_own_key(storage, source):
    from storage import CONTENT_TYPES, key_job_id

    keys = [audio_key("job123456", ext) for ext in ("wav", "flac", "mp3", "opus")]
    assert keys[2] == "audio/job123456.mp3"
    for key in keys:
        storage.put_file(key, source, CONTENT_TYPES[key.rpartition(".")[2]])
    assert sorted(i.key for i in storage.list()) == sorted(keys)
    assert {key_job_id(k) for k in keys} == {"job123456"}
    if hasattr(storage, "client"):  # S3 stores the media type with the object
        head = storage.client.head_object(Bucket=storage.bucket, Key=storage._name(keys[2]))
        assert head["ContentType"] == "audio/mpeg"
    storage.delete(keys[0])
    assert b"".join(storage.iter_range(keys[3])) == PAYLOAD
    assert sorted(i.key for i in storage.list()) == sorted(keys[1:])
    with pytest.raises(ValueError):
        audio_key("job123456", "ogg")


def test_ranges_and_chunking(storage, source):
    from storage import CHUNK_SIZE

    key = audio_key("job123456")
    storage.put_file(key, source)
    for start, end in [(0, 1), (10, 20), (1000, 600_000), (len(PAYLOAD) - 5, len(PAYLOAD))]:
        chunks = list(storage.iter_range(key, start, end))
        assert b"".join(chunks) == PAYLOAD[start:end]
        assert all(len(c) <= CHUNK_SIZE for c in chunks)


def test_overwrite_keeps_one_object(storage, source, tmp_path):
    key = audio_key("job123456")
    storage.put_file(key, source)
    other = tmp_path / "other.wav"
    other.write_bytes(b"RIFF-second")
    storage.put_file(key, other)
    assert [i.key for i in storage.list()] == [key]
    assert b"".join(storage.iter_range(key)) == b"RIFF-second"


def test_download(storage, source, tmp_path):
    key = audio_key("job123456")
    storage.put_file(key, source)
    dest = tmp_path / "out.wav"
    storage.download(key, dest)
    assert dest.read_bytes() == PAYLOAD
    with pytest.raises(ObjectNotFound):
        storage.download(audio_key("missing1"), tmp_path / "x.wav")


def test_open_gives_the_bytes_with_their_stat(storage, source):
    from storage import CHUNK_SIZE

    key = audio_key("job123456")
    storage.put_file(key, source)
    info, body = storage.open(key)
    assert info == storage.stat(key)
    chunks = list(body)
    assert b"".join(chunks) == PAYLOAD and all(len(c) <= CHUNK_SIZE for c in chunks)


def test_missing_object(storage):
    with pytest.raises(ObjectNotFound):
        storage.stat(audio_key("missing1"))
    with pytest.raises(ObjectNotFound):
        storage.open(audio_key("missing1"))
    with pytest.raises(ObjectNotFound):
        list(storage.iter_range(audio_key("missing1")))


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "audio/../../x.wav",
        "audio/a/b.wav",
        "other/x.wav",
        "audio/x.ogg",
        "audio/x.mp3.wav.exe",
        "audio/.wav",
        "/audio/x.wav",
    ],
)
def test_keys_outside_audio_are_refused(storage, source, key):
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        storage.put_file(key, source)
    with pytest.raises(ValueError):
        storage.stat(key)


def test_large_upload_uses_multipart(tmp_path, monkeypatch):
    fake_aws_credentials(monkeypatch)
    big = tmp_path / "big.wav"
    big.write_bytes(os.urandom(20 * 1024 * 1024))  # ~ a 110 s render
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="music")
        store = open_storage("s3://music")
        calls = []
        original = store.client.create_multipart_upload

        def spy(**kwargs):
            calls.append(kwargs["Key"])
            return original(**kwargs)

        monkeypatch.setattr(store.client, "create_multipart_upload", spy)
        store.put_file(audio_key("bigjob12"), big)
        assert calls == ["audio/bigjob12.wav"]
        assert store.stat(audio_key("bigjob12")).size == 20 * 1024 * 1024


def test_put_stream_stores_what_the_writer_writes(storage):
    key = audio_key("stream123")
    size = storage.put_stream(key, lambda out: (out.write(PAYLOAD[:1000]), out.write(PAYLOAD)))
    assert size == 1000 + len(PAYLOAD)
    assert b"".join(storage.iter_range(key)) == PAYLOAD[:1000] + PAYLOAD


def test_a_writer_that_fails_stores_nothing(storage):
    key = audio_key("stream123")

    def broken(out):
        out.write(PAYLOAD)
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError, match="encoder crashed"):
        storage.put_stream(key, broken)
    with pytest.raises(ObjectNotFound):
        storage.stat(key)
    assert list(storage.list()) == []
