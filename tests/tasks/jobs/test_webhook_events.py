"""Job transitions make webhook deliveries due in the same script, once per event."""

from __future__ import annotations

import pytest

from tasks.jobs.store import WEBHOOKS_DUE_KEY

HOOKED = {"prompt": "x", "duration": 30, "seed": 1, "webhook": "https://example.com/h"}


@pytest.fixture
def due(jobs, monkeypatch):
    """The events the store asked to dispatch (the fast path), in order."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(jobs, "on_webhook", lambda store, job_id, event: calls.append(
        (job_id, event)))
    return calls


def _job(jobs, job_id, events=("completed",), **extra):
    fields = {**HOOKED, "webhook_events_filter": list(events), **extra}
    jobs.create(job_id, "client:cl_test", fields)
    return job_id


def _pending(jobs) -> set[str]:
    return {m.decode() for m in jobs.r.zrange(WEBHOOKS_DUE_KEY, 0, -1)}


def test_started_and_each_ending_are_due_once(jobs, due):
    done = _job(jobs, "hookdone01", ("started", "completed"))
    failed = _job(jobs, "hookfail01")
    canceled = _job(jobs, "hookcanc01")
    jobs.start(done, 3)
    jobs.mark_lost(done)
    jobs.start(done, 3)  # redelivered after a lost worker: no second `started`
    jobs.finish(done, audio_key="audio/x.wav")
    jobs.start(failed, 3)  # not wanted: only `completed` was asked for
    jobs.fail(failed, "boom")
    jobs.cancel(canceled)
    assert due == [(done, "started"), (done, "completed"), (failed, "completed"),
                   (canceled, "completed")]
    assert _pending(jobs) == {f"{done}:started", f"{done}:completed", f"{failed}:completed",
                              f"{canceled}:completed"}
    assert jobs.fail(done, "late") != "ok" and len(due) == 4  # terminal: nothing more


def test_a_job_given_up_after_lost_workers_is_completed(jobs, due):
    job_id = _job(jobs, "hookgive01")
    for _ in range(3):
        jobs.start(job_id, 2)
        jobs.mark_lost(job_id)
    assert jobs.get(job_id)["status"] == "failed"
    assert due == [(job_id, "completed")]


def test_jobs_without_a_webhook_make_nothing_due(jobs, due):
    jobs.create("plainjob01", "owner", {"prompt": "x", "duration": 30, "seed": 1})
    jobs.start("plainjob01", 3)
    jobs.finish("plainjob01", audio_key="audio/y.wav")
    assert due == [] and _pending(jobs) == set()
