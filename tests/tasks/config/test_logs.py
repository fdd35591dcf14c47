"""Structured logs: JSON lines with job_id in the API and the worker; text with LOG_JSON=0."""

from __future__ import annotations

import io
import json
import logging

from tasks.config import logs
from tests.conftest import wait_status
from tests.support.services import wait_for


def render(formatter, **extra) -> str:
    record = logging.LogRecord("tasks.generate", logging.INFO, __file__, 1, "job %s", ("ok",),
                               None)
    for name, value in extra.items():
        setattr(record, name, value)
    logs.JobIdFilter().filter(record)
    return formatter.format(record)


def test_json_line_carries_job_id_and_extras():
    line = json.loads(render(logs.JsonFormatter(), job_id="abc12345", attempt=2))
    assert line["message"] == "job ok"
    assert line["level"] == "INFO" and line["logger"] == "tasks.generate"
    assert line["job_id"] == "abc12345" and line["attempt"] == 2
    assert line["ts"].endswith("+00:00")


def test_job_id_comes_from_the_running_celery_task():
    from tasks.app import app

    @app.task(name="tests.log_probe", bind=True)
    def probe(self):
        return render(logs.JsonFormatter())

    # apply() runs the task in this process with a request context (no broker).
    line = json.loads(probe.apply(task_id="celery-task-id-1").get())
    assert line["job_id"] == "celery-task-id-1"
    assert "job_id" not in json.loads(render(logs.JsonFormatter()))


def test_text_lines_when_log_json_is_off():
    text = render(logs.TextFormatter(), job_id="abc12345")
    assert "INFO" in text and "tasks.generate: job ok" in text and "[job_id=abc12345]" in text
    assert not text.startswith("{")


def test_configure_is_idempotent_and_switches_format(monkeypatch):
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure(json_lines=True)
        logs.configure(json_lines=True)
        ours = [h for h in root.handlers if getattr(h, logs._MARK, False)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, logs.JsonFormatter)
        stream = io.StringIO()
        ours[0].setStream(stream)
        logging.getLogger("web.test").warning("hello", extra={"job_id": "j1234567"})
        assert json.loads(stream.getvalue())["job_id"] == "j1234567"
        logs.configure(json_lines=False)
        ours = [h for h in root.handlers if getattr(h, logs._MARK, False)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, logs.TextFormatter)
    finally:
        for handler in list(root.handlers):
            if getattr(handler, logs._MARK, False):
                root.removeHandler(handler)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_worker_writes_json_lines_with_the_job_id(worker_pool, settings, client):
    worker = worker_pool.ensure(LOG_JSON="1")
    try:
        r = client.post("/api/generate", json={"prompt": "log me", "duration": 30})
        job_id = r.get_json()["job_id"]
        assert wait_status(client, job_id)["status"] == "finished"
        found: dict = {}

        def job_lines() -> bool:
            # Celery logs "succeeded" after the task returned, which is after
            # the job record says finished: wait for it rather than race it.
            lines = [json.loads(raw) for raw in worker.output().splitlines()
                     if raw.startswith("{")]
            found["mine"] = [line for line in lines if line.get("job_id") == job_id]
            return any(line["logger"].startswith("celery") for line in found["mine"])

        try:
            wait_for(job_lines, timeout=10, what="celery's own line for the job")
        except TimeoutError:
            pass
        mine = found["mine"]
        assert mine, worker.output()[-2000:]
        messages = " | ".join(line["message"] for line in mine)
        assert "job started" in messages and "job finished" in messages, messages
        # Celery's own per-task lines pick the id up from the running task.
        assert any(line["logger"].startswith("celery") for line in mine), messages
    finally:
        worker_pool.stop()
