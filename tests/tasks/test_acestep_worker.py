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
    worker = worker_pool.ensure(ENGINE="acestep", ACESTEP_MODEL_DIR=str(tiny_model),
                                ACESTEP_DEVICE="cpu")
    r = client.post("/api/generate",
                    json={"prompt": "lofi hip hop, mellow piano", "duration": 30, "seed": 11})
    assert r.status_code == 202
    job = wait_status(client, r.get_json()["job_id"], timeout=120)
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
