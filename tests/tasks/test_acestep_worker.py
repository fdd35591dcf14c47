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
