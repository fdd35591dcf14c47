"""Each image's processes start and work with that image's packages only.

Flower, beat and the maintenance worker run from the API image (no numpy, no
torch) yet load every task module; the encode worker has numpy and soundfile
but no torch. (Flower and the encode worker are also run this way by their
own tests: tests/test_flower.py, the encode_worker fixture.)
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.support.images import image_env, missing_imports, requirements
from tests.support.services import BIN, ROOT, Worker, run_python, wait_for


def test_the_requirement_sets_are_what_the_images_are_built_from():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "RUN pip install -r requirements-api.txt" in dockerfile
    assert "RUN pip install -r requirements-encode.txt" in dockerfile
    assert {"numpy", "torch", "scipy", "soundfile"} <= missing_imports("api")
    assert "numpy" in requirements("requirements-encode.txt")
    # the composer's own packages are there: the encoder makes its exports (tasks.exports)
    assert {"scipy", "mido"} <= requirements("requirements-encode.txt")
    assert {"torch", "diffusers", "transformers"} <= missing_imports("encoder")


def test_the_blocker_stands_in_for_a_missing_package(tmp_path):
    env = image_env("api", tmp_path)
    out = run_python("-c", "import numpy", env=env, timeout=60)
    assert out.returncode == 1 and "No module named 'numpy' (not in the api image)" in out.stderr


@pytest.mark.parametrize("image", ["api", "encoder"])
def test_every_task_module_loads_from_the_image(tmp_path, image):
    # What Flower, beat and `celery worker` do at start: import app.conf.imports.
    script = (
        "from tasks.app import app\n"
        "app.loader.import_default_modules()\n"
        "print(sorted(n for n in app.tasks if n.startswith('music.')))\n"
    )
    out = run_python("-c", script, env=image_env(image, tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'music.encode', 'music.generate', 'music.purge_expired'" in out.stdout
    assert "'music.deliver_webhook'" in out.stdout and "'music.sweep_webhooks'" in out.stdout


def test_beat_runs_from_the_api_image(tmp_path, settings):
    log = tmp_path / "beat.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "tasks", "beat", "--schedule",
             str(tmp_path / "schedule"), "--loglevel=INFO"],
            cwd=ROOT, env=image_env("api", tmp_path / "packages"), stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: b"beat: Starting" in log.read_bytes() or proc.poll() is not None,
                 timeout=30, what="beat to start")
        time.sleep(2)  # past loading the schedule and its first tick
        assert proc.poll() is None, log.read_text(errors="replace")
        assert b"Traceback" not in log.read_bytes(), log.read_text(errors="replace")
    finally:
        proc.terminate()
        proc.wait(15)


def test_a_maintenance_worker_from_the_api_image_sets_up_no_engine(tmp_path, settings):
    # ENGINE=acestep with no model would stop a worker that set an engine up.
    env = image_env("api", tmp_path / "packages", {
        **os.environ, "ENGINE": "acestep", "ACESTEP_MODEL_DIR": str(tmp_path)})
    maint = Worker(env, "maint-image", tmp_path / "maint.log", queues="maintenance").start()
    try:
        from tasks.app import app

        swept = app.send_task("music.requeue_stalled", queue="maintenance").get(timeout=30)
        purged = app.send_task("music.purge_expired", queue="maintenance").get(timeout=30)
        assert isinstance(swept, dict) and isinstance(purged, dict)
        log = maint.output()
        assert "refusing to start" not in log and "Traceback" not in log, log
    finally:
        maint.stop()
