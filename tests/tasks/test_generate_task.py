"""`music.generate` called straight through Celery, as batch scripts do."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.conftest import wait_status
from tests.support.services import run_python


def test_send_task_from_a_script_with_no_api(worker, jobs, storage_root):
    script = textwrap.dedent(
        """
        import json
        from tasks import app
        result = app.send_task("music.generate", kwargs={"prompt": "batch jazz", "duration": 30})
        print(json.dumps(result.get(timeout=60)))
        """
    )
    out = run_python("-c", script, timeout=90, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == {
        "job_id",
        "audio_key",
        "duration",
        "sample_rate",
        "channels",
        "seed",
        "engine",
    }
    assert result["duration"] == 30 and result["sample_rate"] == 48000
    assert result["channels"] == 2 and result["engine"] == "fixed"
    assert result["audio_key"] == f"audio/{result['job_id']}.wav"
    assert isinstance(result["seed"], int)
    record = jobs.get(result["job_id"])
    assert record["owner"] == "batch" and record["status"] == "finished"
    wav = storage_root / result["audio_key"]
    assert wav.stat().st_size == 44 + 30 * 48000 * 4


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"duration": 30}, "prompt is required"),
        ({"prompt": "x", "duration": 45}, "30, 60 or 120"),
        ({"prompt": "x", "seed": -5}, "seed"),
        ({"prompt": "x", "duration": 30, "bogus": 1}, "Unknown field(s): bogus"),
    ],
)
def test_invalid_input_fails_at_once(worker, jobs, kwargs, words):
    from tasks import app

    result = app.send_task("music.generate", kwargs=kwargs)
    with pytest.raises(Exception) as info:
        result.get(timeout=30)
    assert words in str(info.value)
    record = wait_status(jobs, result.id, ("failed",))
    assert record["error"].startswith("invalid input:") and words in record["error"]
    assert record["attempts"] == 0  # never reached the engine


def test_same_seed_same_audio_other_seed_different(worker, storage_root):
    from tasks import app

    def render(seed):
        result = app.send_task(
            "music.generate", kwargs={"prompt": "x", "duration": 30, "seed": seed}
        )
        return (storage_root / result.get(timeout=60)["audio_key"]).read_bytes()

    first, again, other = render(7), render(7), render(8)
    assert first == again
    assert first != other


@pytest.mark.parametrize(
    ("directive", "error"),
    [
        ("fail:oom", "out of GPU memory"),
        ("fail:invalid", "model produced invalid audio"),
        ("fail:crash", "internal error while generating the audio"),
    ],
)
def test_engine_failures_fail_the_job_and_the_worker_keeps_serving(
    worker, client, storage_root, directive, error
):
    bad = client.post("/api/generate", json={"prompt": f"test {directive}", "duration": 30})
    job = wait_status(client, bad.get_json()["job_id"])
    assert job["status"] == "failed" and job["error"] == error
    assert "Traceback" not in job["error"] and "audio_url" not in job
    assert not (storage_root / "audio" / f"{job['job_id']}.wav").exists()  # nothing stored
    good = client.post("/api/generate", json={"prompt": "fine", "duration": 30})
    assert wait_status(client, good.get_json()["job_id"])["status"] == "finished"
    assert worker.proc.poll() is None


def test_worker_refuses_to_start_with_a_broken_engine_config(tmp_path, settings):
    import os

    from tests.support.services import Worker

    missing = tmp_path / "no-such-model"
    env = {**os.environ, "ENGINE": "acestep", "ACESTEP_MODEL_DIR": str(missing)}
    worker = Worker(env, "refuser", tmp_path / "refuser.log").start(wait=False)
    try:
        code = worker.proc.wait(60)
    finally:
        worker.stop()
    assert code != 0
    log = worker.output()
    assert "worker refusing to start" in log and str(missing) in log
    assert " ready." not in log


def test_after_the_upload_a_redis_blip_is_ridden_out_not_re_rendered():
    import redis

    from tasks.generate import _patiently

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise redis.ConnectionError("blip")
        return "ok"

    assert _patiently(flaky, delay=0.001) == "ok" and len(calls) == 3

    def down():
        raise redis.TimeoutError("still down")

    with pytest.raises(redis.TimeoutError):
        _patiently(down, attempts=2, delay=0.001)
