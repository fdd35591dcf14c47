"""Exports end to end: API -> music worker -> `encode` worker (exports) -> storage -> API."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import mido
import pytest
import soundfile as sf

from tests.conftest import wait_stage, wait_status

SONG = {"prompt": "upbeat pop song with piano, drums and rain", "duration": 30, "seed": 5,
        "bpm": 100, "lyrics": "[verse]\nhello my friend we sing tonight\n[chorus]\noh the light"}


@pytest.fixture
def composer(worker_pool, settings):
    return worker_pool.ensure(ENGINE="composer")


def _submit(client, **fields) -> dict:
    r = client.post("/api/generate", json=fields)
    assert r.status_code == 202, r.get_json()
    return wait_status(client, r.get_json()["job_id"], timeout=120)


def test_midi_and_stems_through_the_api(composer, encode_worker, client, storage_root):
    job = _submit(client, **SONG, exports=["midi", "stems"])
    assert job["status"] == "finished", job
    job_id, exports = job["job_id"], job["exports"]
    assert set(exports) == {"midi", "stems"}, exports
    assert exports["midi"]["url"] == f"/api/audio/{job_id}/midi"
    assert exports["stems"]["url"] == f"/api/audio/{job_id}/stems"

    r = client.get(exports["midi"]["url"])
    assert r.status_code == 200 and r.mimetype == "audio/midi"
    assert r.headers["Content-Disposition"] == f'attachment; filename="music_{job_id}.mid"'
    assert len(r.data) == exports["midi"]["size_bytes"]
    mid = mido.MidiFile(file=io.BytesIO(r.data))
    assert mid.type == 1
    tempo = next(m.tempo for m in mid.tracks[0] if m.type == "set_tempo")
    assert round(mido.tempo2bpm(tempo), 3) == 100
    assert len(mid.tracks) == 1 + len(job["understood"]["instruments"])
    lyrics = [m for t in mid.tracks for m in t if m.type == "lyrics"]
    assert len(lyrics) == job["understood"]["syllables"] > 0

    r = client.get(exports["stems"]["url"])
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert r.headers["Content-Disposition"] == (
        f'attachment; filename="music_{job_id}_stems.zip"')
    assert len(r.data) == exports["stems"]["size_bytes"]
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        manifest = json.loads(zf.read("stems.json"))
        assert manifest["parts"] == exports["stems"]["parts"]
        assert {"drums", "voice", "ambience"} <= set(manifest["parts"])
        for part in manifest["parts"]:
            data, rate = sf.read(io.BytesIO(zf.read(f"music_{job_id}_{part}.flac")))
            assert rate == 48000 and data.shape == (30 * 48000, 2)

    # Exports sit beside the audio; a WAV job keeps its WAV.
    assert sorted(p.name for p in (storage_root / "audio").glob(f"{job_id}.*")) == [
        f"{job_id}.mid", f"{job_id}.wav", f"{job_id}.zip"]


def test_a_compressed_job_encodes_and_exports_in_one_pass(composer, encode_worker, client,
                                                          storage_root):
    job = _submit(client, prompt="calm piano", duration=30, format="flac", exports=["midi"])
    assert job["status"] == "finished" and job["format"] == "flac", job
    assert client.get(job["audio_url"]).mimetype == "audio/flac"
    assert client.get(job["exports"]["midi"]["url"]).status_code == 200
    assert sorted(p.name for p in (storage_root / "audio").glob(f"{job['job_id']}.*")) == [
        f"{job['job_id']}.flac", f"{job['job_id']}.mid"]


def test_no_exports_is_todays_job(composer, no_encoder, client):
    # No `encode` worker runs: a WAV job without exports never needs one.
    job = _submit(client, prompt="calm piano", duration=30, seed=3)
    assert job["status"] == "finished" and "exports" not in job
    r = client.get(f"/api/audio/{job['job_id']}/midi")
    assert r.status_code == 404 and "did not ask for" in r.get_json()["detail"]


def test_exports_wait_for_the_cpu_worker(composer, no_encoder, client):
    r = client.post("/api/generate", json={"prompt": "calm piano", "duration": 30,
                                           "exports": ["stems"]})
    job_id = r.get_json()["job_id"]
    view = wait_stage(client, job_id, "exporting", timeout=60)
    assert view["status"] == "started" and view["exports"] == {"stems": {"pending": True}}, view
    assert client.get(f"/api/audio/{job_id}/stems").status_code == 404


def test_fixed_engine_reports_exports_unavailable(worker, no_encoder, client):
    job = _submit(client, prompt="calm piano", duration=30, exports=["midi", "stems"])
    assert job["status"] == "finished", job
    for name in ("midi", "stems"):
        entry = job["exports"][name]
        assert entry["unavailable"] is True and "fixed engine" in entry["reason"], entry
        r = client.get(f"/api/audio/{job['job_id']}/{name}")
        assert r.status_code == 404 and "unavailable" in r.get_json()["detail"]
    assert client.get(job["audio_url"]).status_code == 200


def test_acestep_reports_exports_unavailable(worker_pool, no_encoder, client, tmp_path_factory):
    pytest.importorskip("diffusers")
    from tests.support.tiny_acestep import save_tiny_pipeline

    model = save_tiny_pipeline(tmp_path_factory.mktemp("acestep") / "tiny-turbo")
    worker_pool.ensure(ENGINE="acestep", ACESTEP_MODEL_DIR=str(model), ACESTEP_DEVICE="cpu")
    job = _submit(client, prompt="lofi hip hop", duration=30, exports=["stems"])
    assert job["status"] == "finished" and job["engine"] == "acestep", job
    assert job["exports"]["stems"]["unavailable"] is True
    assert "acestep engine renders a finished mix only" in job["exports"]["stems"]["reason"]


def test_export_routes_keep_the_audio_rules(app, composer, encode_worker, client,
                                            storage_root):
    job = _submit(client, prompt="calm piano", duration=30, exports=["midi"])
    url = job["exports"]["midi"]["url"]
    whole = client.get(url)
    assert whole.status_code == 200
    etag = whole.headers["ETag"]

    part = client.get(url, headers={"Range": "bytes=0-13"})
    assert part.status_code == 206 and part.data == whole.data[:14]
    assert part.headers["Content-Range"] == f"bytes 0-13/{len(whole.data)}"
    assert client.get(url, headers={"Range": "bytes=5-9", "If-Range": etag}).status_code == 206
    stale = client.get(url, headers={"Range": "bytes=5-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == whole.data

    stranger = app.test_client()
    stranger.post("/api/generate", json={"prompt": "x", "duration": 30})  # has a session
    r = stranger.get(url)
    assert r.status_code == 403
    assert client.get(f"/api/audio/{job['job_id']}/stems").status_code == 404  # not asked for

    os.unlink(storage_root / "audio" / f"{job['job_id']}.mid")
    assert client.get(url).status_code == 404


def test_retention_deletes_exports_with_the_audio(composer, encode_worker, client, storage_root):
    from tasks.app import app as celery_app

    job = _submit(client, prompt="calm piano", duration=30, exports=["midi", "stems"])
    job_id = job["job_id"]
    wav = storage_root / "audio" / f"{job_id}.wav"
    then = time.time() - 200 * 3600
    os.utime(wav, (then, then))  # only the audio is old: its exports go with it
    assert celery_app.send_task("music.purge_expired").get(timeout=30)["errors"] == 0
    assert list((storage_root / "audio").glob(f"{job_id}.*")) == []
    view = client.get(f"/api/jobs/{job_id}").get_json()
    assert view["expired"] is True
    assert view["exports"] == {"midi": {"expired": True}, "stems": {"expired": True}}
    assert client.get(f"/api/audio/{job_id}/midi").status_code == 404


def test_send_task_takes_exports_without_the_api(composer, encode_worker, jobs):
    from tasks.app import app as celery_app

    job_id = "batch-exports-1"
    celery_app.send_task("music.generate", task_id=job_id, queue="music",
                         kwargs={"prompt": "calm piano", "duration": 30, "exports": ["midi"]})
    record = wait_status(jobs, job_id, timeout=120)
    assert record["status"] == "finished", record
    assert record["exports_made"]["midi"]["key"] == f"audio/{job_id}.mid"


def test_send_task_refuses_a_bad_export(composer, jobs):
    from tasks.app import app as celery_app

    job_id = "batch-exports-2"
    celery_app.send_task("music.generate", task_id=job_id, queue="music",
                         kwargs={"prompt": "calm piano", "duration": 30, "exports": ["mp4"]})
    record = wait_status(jobs, job_id, timeout=60)
    assert record["status"] == "failed"
    assert "exports must be a list of distinct names from midi, stems" in record["error"]


def test_batch_writes_exports_beside_the_audio(composer, encode_worker, tmp_path):
    from tests.support.services import run_python

    prompts = tmp_path / "songs.jsonl"
    prompts.write_text("\n".join([
        json.dumps({"prompt": "jazz trio", "duration": 30, "exports": ["midi", "stems"]}),
        json.dumps({"prompt": "plain", "duration": 30}),
    ]))
    out = tmp_path / "out"
    done = run_python("-m", "tasks.batch", str(prompts), "--out", str(out), "--poll", "0.1",
                      env=dict(os.environ), timeout=180)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir() if p.name != "summary.jsonl") == [
        "0001-jazz-trio.mid", "0001-jazz-trio.wav", "0001-jazz-trio_stems.zip", "0002-plain.wav"]
    assert mido.MidiFile(str(out / "0001-jazz-trio.mid")).type == 1
    with zipfile.ZipFile(out / "0001-jazz-trio_stems.zip") as zf:
        assert "stems.json" in zf.namelist()
    assert "saved 0001-jazz-trio.mid" in done.stderr
