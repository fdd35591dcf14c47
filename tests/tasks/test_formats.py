"""Each audio format end to end: API -> GPU-queue worker -> `encode` worker -> storage -> API."""

from __future__ import annotations

import io
import time

import pytest
import redis
import soundfile as sf

from tasks.jobs.submit import send_encode
from tests.conftest import wait_stage, wait_status

MAGIC = {
    "wav": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE",
    "flac": lambda b: b[:4] == b"fLaC",
    # An ID3 tag, or straight into an MPEG frame (11 sync bits set).
    "mp3": lambda b: b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0),
    "opus": lambda b: b[:4] == b"OggS" and b"OpusHead" in b[:64],
}
TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "opus": "audio/ogg"}


def _finished(client, fmt: str, **fields) -> dict:
    r = client.post("/api/generate", json={"prompt": "calm piano", "duration": 30,
                                           "format": fmt, **fields})
    assert r.status_code == 202, r.get_json()
    return wait_status(client, r.get_json()["job_id"], timeout=90)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus"])
def test_each_format_end_to_end(worker, encode_worker, client, storage_root, jobs, fmt):
    job = _finished(client, fmt)
    assert job["status"] == "finished", job
    assert job["format"] == fmt
    r = client.get(job["audio_url"])
    assert r.status_code == 200
    body = r.data
    assert r.mimetype == TYPES[fmt]
    assert f'filename="music_{job["job_id"]}.{fmt}"' in r.headers["Content-Disposition"]
    assert MAGIC[fmt](body), body[:16]
    assert job["size_bytes"] == len(body)
    info = sf.info(io.BytesIO(body))
    assert info.samplerate == 48000 and info.channels == 2
    # Encoders pad a little (MP3 frames, Opus pre-skip): within 50 ms.
    assert abs(info.duration - 30) < 0.05, info.duration
    assert len(job["peaks"]) == 300 and all(0 <= p <= 100 and isinstance(p, int)
                                            for p in job["peaks"])
    # The intermediate WAV is deleted; a lossy job keeps a FLAC master for edits.
    kept = sorted(p.name for p in (storage_root / "audio").glob(f"{job['job_id']}.*"))
    master = "flac" if fmt in ("mp3", "opus", "flac") else "wav"
    assert kept == sorted({f"{job['job_id']}.{fmt}", f"{job['job_id']}.{master}"})
    assert jobs.get(job["job_id"])["master"] == f"audio/{job['job_id']}.{master}"
    if fmt != master:  # the master holds the rendered samples exactly
        lossless, _ = sf.read(storage_root / "audio" / f"{job['job_id']}.flac", dtype="int16")
        assert lossless.shape == (30 * 48000, 2) and abs(lossless).max() > 1000


def test_compressed_sizes_are_smaller_than_wav(worker, encode_worker, client):
    sizes = {fmt: _finished(client, fmt, seed=3)["size_bytes"] for fmt in ("wav", "mp3", "opus")}
    assert sizes["wav"] == 30 * 48000 * 4 + 44  # exactly today's 16-bit PCM
    assert sizes["mp3"] < sizes["wav"] * 0.15 and sizes["opus"] < sizes["wav"] * 0.15


def test_range_on_an_mp3(worker, encode_worker, client):
    job = _finished(client, "mp3")
    whole = client.get(job["audio_url"]).data
    r = client.get(job["audio_url"], headers={"Range": "bytes=100-1099"})
    assert r.status_code == 206 and r.mimetype == "audio/mpeg"
    assert r.headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert r.data == whole[100:1100]


def test_job_stays_started_while_encoding(worker, no_encoder, client, jobs):
    r = client.post("/api/generate", json={"prompt": "calm piano", "duration": 30,
                                           "format": "opus"})
    job_id = r.get_json()["job_id"]
    view = wait_stage(client, job_id, "encoding", timeout=30)
    assert view["status"] == "started" and view["progress"] == 100, view
    assert "audio_url" not in view and "size_bytes" not in view
    # The GPU worker is free meanwhile: the next job runs to the end.
    assert _finished(client, "wav")["status"] == "finished"
    assert jobs.get(job_id)["status"] == "started"


def test_encoding_a_missing_wav_fails_the_job_clearly(encode_worker, jobs):
    jobs.create("enc-missing-1", "someone", {"prompt": "x", "duration": 30, "format": "mp3"})
    jobs.start("enc-missing-1", 3)
    jobs.hand_to_encoder("enc-missing-1")
    send_encode("enc-missing-1", "mp3")
    record = wait_status(jobs, "enc-missing-1")
    assert record["status"] == "failed"
    assert record["error"] == "the rendered audio to encode is missing"


def test_encode_runs_again_harmlessly(worker, encode_worker, client, jobs):
    job = _finished(client, "flac")
    before = jobs.get(job["job_id"])
    send_encode(job["job_id"], "flac")  # a duplicate message (e.g. a redelivery)
    time.sleep(1.0)
    assert jobs.get(job["job_id"]) == before
    assert client.get(job["audio_url"]).status_code == 200


def test_a_silent_encoding_is_resent_not_rendered_again(no_worker, no_encoder, jobs, settings):
    from tasks.maintenance import requeue_stalled

    jobs.create("enc-silent-1", "someone", {"prompt": "x", "duration": 30, "format": "mp3"})
    jobs.start("enc-silent-1", 3)
    jobs.hand_to_encoder("enc-silent-1")
    broker = redis.Redis.from_url(settings.redis_url_for("broker"))
    assert requeue_stalled(older_than=0)["requeued"] == ["enc-silent-1"]
    record = jobs.get("enc-silent-1")
    assert record["status"] == "started" and record["stage"] == "encoding"
    assert broker.llen("encode") == 1 and broker.llen("music") == 0
