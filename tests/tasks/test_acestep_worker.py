"""ENGINE=acestep end to end: a real worker loads the tiny pipeline, the API serves its WAV."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from tests.conftest import wait_status

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tests.support.tiny_acestep import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("acestep") / "tiny-turbo")


def test_acestep_job_through_the_api(worker_pool, client, tiny_model):
    worker = worker_pool.ensure(
        ENGINE="acestep", ACESTEP_MODEL_DIR=str(tiny_model), ACESTEP_DEVICE="cpu"
    )
    r = client.post(
        "/api/generate", json={"prompt": "lofi hip hop, mellow piano", "duration": 30, "seed": 11}
    )
    assert r.status_code == 202
    job = wait_status(client, r.get_json()["job_id"], timeout=240)
    assert job["status"] == "finished", (job, worker.output()[-3000:])
    assert job["engine"] == "acestep"
    assert job["model"].startswith("tiny-turbo@")
    assert job["understood"]["steps"] == 8
    assert "lofi hip hop" in job["understood"]["caption"]

    audio = client.get(job["audio_url"])
    assert audio.status_code == 200
    with wave.open(io.BytesIO(audio.data)) as w:
        assert w.getparams()[:4] == (2, 2, 48000, 30 * 48000)
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert samples.any()

    # The model is loaded once per worker process, not per job.
    again = client.post("/api/generate", json={"prompt": "ambient", "duration": 30, "seed": 12})
    assert wait_status(client, again.get_json()["job_id"], timeout=240)["status"] == "finished"
    assert worker.output().count("engine ready") == 1


def test_model_that_fails_to_load_in_the_child_stops_the_worker(tmp_path, settings):
    import os

    from tests.support.services import Worker
    from tests.support.tiny_acestep import save_tiny_pipeline

    model = save_tiny_pipeline(tmp_path / "corrupt")
    for weights in (model / "transformer").glob("*.safetensors"):
        weights.write_bytes(b"not safetensors")  # files exist, so the parent's check passes
    env = {
        **os.environ,
        "ENGINE": "acestep",
        "ACESTEP_MODEL_DIR": str(model),
        "ACESTEP_DEVICE": "cpu",
    }
    worker = Worker(env, "corrupt", tmp_path / "corrupt.log").start(wait=False)
    try:
        code = worker.proc.wait(90)
    finally:
        worker.stop()
    assert code == 1  # a failed start, so supervisors restart or alert
    assert "engine setup failed" in worker.output() and str(model) in worker.output()


def test_acestep_edits_through_the_api(worker_pool, client, tiny_model, jobs, storage_root):
    """Repaint, extend and cover of an ACE-Step job, from its master."""
    import soundfile as sf

    worker_pool.ensure(ENGINE="acestep", ACESTEP_MODEL_DIR=str(tiny_model), ACESTEP_DEVICE="cpu")

    r = client.post("/api/generate", json={"prompt": "lofi piano", "duration": 30, "seed": 4,
                                           "format": "wav"})
    source = wait_status(client, r.get_json()["job_id"], timeout=240)
    assert source["status"] == "finished", source
    master = jobs.get(source["job_id"])["master"]
    assert master == f"audio/{source['job_id']}.wav"
    src, _ = sf.read(storage_root / master, dtype="int16")

    def edit(body):
        r = client.post("/api/generate", json={"source_job": source["job_id"], **body})
        assert r.status_code == 202, r.get_json()
        job = wait_status(client, r.get_json()["job_id"], timeout=300)
        assert job["status"] == "finished", job
        pcm, _ = sf.read(io.BytesIO(client.get(job["audio_url"]).data), dtype="int16")
        return job, pcm

    job, pcm = edit({"task": "repaint", "start": 10, "end": 14, "seed": 1})
    assert job["segments"][1] == {"start": 10.0, "end": 14.0, "kind": "new"}
    assert np.array_equal(pcm[: 10 * 48000], src[: 10 * 48000])
    assert np.array_equal(pcm[14 * 48000:], src[14 * 48000:])
    job, pcm = edit({"task": "extend", "extend_from": 20, "extend_by": 30, "seed": 1})
    assert job["duration"] == 50 and pcm.shape == (50 * 48000, 2)
    assert np.array_equal(pcm[: 20 * 48000], src[: 20 * 48000])
    job, pcm = edit({"task": "cover", "prompt": "jazz", "strength": 0.4, "seed": 1})
    assert job["duration"] == 30 and pcm.shape == (30 * 48000, 2)
