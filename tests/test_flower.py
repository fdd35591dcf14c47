"""Flower against the test broker: it sees the worker and readable job rows, behind auth."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_status
from tests.support.images import image_env
from tests.support.services import BIN, ROOT, free_port, stop_process, wait_for

pytestmark = pytest.mark.slow

AUTH = ("ops", "s3cret-pass")


class Flower:
    def __init__(self, log_path: Path, *, flag_auth: bool = True, extra_env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
        env.update(extra_env or {})
        # Flower runs from the API image: no numpy, no torch.
        env = image_env("api", log_path.parent / "api-image-packages", env)
        args = [str(BIN / "celery"), "-A", "tasks", "flower", "--address=127.0.0.1",
                f"--port={self.port}"]
        if flag_auth:
            args.append(f"--basic-auth={AUTH[0]}:{AUTH[1]}")
        else:  # the compose file's way: Flower reads FLOWER_BASIC_AUTH itself
            env["FLOWER_BASIC_AUTH"] = f"{AUTH[0]}:{AUTH[1]}"
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._answers, timeout=30, what="flower to answer")

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(self.log_path.read_text(errors="replace"))
        try:
            requests.get(self.url + "/healthcheck", timeout=1)
            return True
        except requests.ConnectionError:
            return False

    def get(self, path: str, auth=AUTH, **params):
        return requests.get(self.url + path, auth=auth, params=params, timeout=10)

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


@pytest.fixture
def flower(tmp_path, worker):
    server = Flower(tmp_path / "flower.log")
    yield server
    server.stop()


def test_flower_lists_the_worker_and_a_readable_job(flower, worker, client):
    # Flower learns of workers through events (heartbeats) and inspect replies.
    workers = wait_for(
        lambda: (r := flower.get("/api/workers", refresh=1)).ok and worker.hostname in r.json()
        and r.json(),
        timeout=20, what="flower to list the worker",
    )
    assert worker.hostname in workers

    prompt = "A very long prompt about a smooth jazz quartet " * 4
    r = client.post("/api/generate", json={"prompt": prompt, "duration": 30, "genre": "jazz",
                                           "seed": 1234})
    assert r.status_code == 202
    job_id = r.get_json()["job_id"]
    assert wait_status(client, job_id)["status"] == "finished"

    def finished_row():
        tasks = flower.get("/api/tasks").json()
        row = tasks.get(job_id)
        return row if row and row.get("state") == "SUCCESS" else None

    row = wait_for(finished_row, timeout=20, what="flower to record the finished task")
    assert row["name"] == "music.generate"
    assert row["uuid"] == job_id
    assert row["worker"] == worker.hostname
    kwargs = row["kwargs"]
    assert "'duration': 30" in kwargs and "'genre': 'jazz'" in kwargs
    assert "'seed': 1234" in kwargs
    shown_prompt = kwargs.split("'prompt': '", 1)[1].split("'", 1)[0]
    assert shown_prompt.startswith("A very long prompt about a smooth jazz")
    assert len(shown_prompt) <= 60 and shown_prompt.endswith("\u2026")


def test_flower_refuses_requests_without_credentials(flower):
    assert flower.get("/api/workers", auth=None).status_code == 401
    assert flower.get("/api/tasks", auth=None).status_code == 401
    assert flower.get("/api/tasks", auth=("ops", "wrong")).status_code == 401
    assert flower.get("/", auth=None).status_code == 401
    assert flower.get("/api/tasks").status_code == 200


def test_flower_takes_credentials_from_the_environment(tmp_path, settings):
    server = Flower(tmp_path / "flower-env.log", flag_auth=False)
    try:
        assert server.get("/api/tasks", auth=None).status_code == 401
        assert server.get("/api/tasks").status_code == 200
    finally:
        server.stop()


def test_flower_reaches_the_broker_through_the_sentinels(sentinel_set, tmp_path, no_worker):
    from tests.support.services import Worker

    sentinel_env = sentinel_set.env(base_db=0)
    worker = Worker({**os.environ, **sentinel_env, "ENGINE": "fixed"}, "sentinelflower",
                    tmp_path / "worker.log").start()
    flower = Flower(tmp_path / "flower.log", extra_env=sentinel_env)
    try:
        wait_for(lambda: (r := flower.get("/api/workers", refresh=1)).ok
                 and worker.hostname in r.json(), timeout=30, what="flower to list the worker")
        # Queue lengths come from Flower's own broker client: its Sentinel one.
        r = flower.get("/api/queues/length")
        assert r.status_code == 200, r.text
        assert {q["name"] for q in r.json()["active_queues"]} >= {"music"}
    finally:
        flower.stop()
        worker.stop()
