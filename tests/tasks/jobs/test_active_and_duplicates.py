"""Active-job caps, running queue totals and duplicate deliveries, in the store."""

from __future__ import annotations

import threading
import time

import pytest

from tasks.jobs.store import TIME_LIMIT_ERROR, TooManyActiveJobs, client_key

FIELDS = {"prompt": "x", "duration": 30, "seed": 1}


def _create(jobs, job_id, owner="owner-a", client="10.0.0.1", **caps):
    caps.setdefault("max_owner", 5)
    caps.setdefault("max_client", 15)
    return jobs.create(job_id, owner, dict(FIELDS), client=client_key(client), **caps)


def test_owner_cap_counts_queued_and_started_and_frees_on_end(jobs):
    ids = [f"capjob{n:04d}" for n in range(5)]
    befores = [_create(jobs, i)["active_before"] for i in ids]
    assert befores == [0, 1, 2, 3, 4]
    jobs.start(ids[0], 3)  # started still counts
    with pytest.raises(TooManyActiveJobs) as caught:
        _create(jobs, "capjob0099")
    assert (caught.value.scope, caught.value.active, caught.value.limit) == ("session", 5, 5)
    assert jobs.get("capjob0099") is None  # nothing recorded
    jobs.finish(ids[0], audio_key="audio/capjob0000.wav")
    assert _create(jobs, "capjob0100")["active_before"] == 4
    jobs.cancel(ids[1])
    jobs.fail(ids[2], "boom")
    _create(jobs, "capjob0101")
    _create(jobs, "capjob0102")
    with pytest.raises(TooManyActiveJobs):
        _create(jobs, "capjob0103")


def test_client_cap_spans_sessions_and_records_hold_no_raw_ip(jobs):
    for n in range(15):
        _create(jobs, f"ipjob{n:05d}", owner=f"rotating-{n}")
    with pytest.raises(TooManyActiveJobs) as caught:
        _create(jobs, "ipjob99999", owner="rotating-new")
    assert (caught.value.scope, caught.value.active) == ("client", 15)
    _create(jobs, "otherip0001", owner="rotating-new", client="10.0.0.2")
    record = jobs.get("ipjob00000")
    assert record["client"] == client_key("10.0.0.1") and "10.0.0.1" not in str(record)


def test_a_record_gone_while_active_frees_its_slot(jobs):
    for n in range(5):
        _create(jobs, f"gonejob{n:04d}")
    jobs.r.delete("job:gonejob0000")  # expired behind the store's back
    _create(jobs, "gonejob0099")


def test_concurrent_submits_never_pass_the_cap(jobs):
    barrier = threading.Barrier(12)
    accepted, refused = [], []

    def submit(n):
        barrier.wait()
        try:
            _create(jobs, f"racecap{n:04d}")
            accepted.append(n)
        except TooManyActiveJobs:
            refused.append(n)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(accepted), len(refused)) == (5, 7)


def test_queue_totals_follow_every_move(jobs):
    def durations():
        return jobs.queue_totals()["durations"]

    jobs.create("totals0001", "o", {**FIELDS, "duration": 30})
    jobs.create("totals0002", "o", {**FIELDS, "duration": 60})
    jobs.create("totals0003", "o", {**FIELDS, "duration": 60})
    jobs.create("totals0004", "o", {**FIELDS, "duration": 120})
    assert durations() == {30: 1, 60: 2, 120: 1}
    jobs.start("totals0002", 3)
    jobs.cancel("totals0003")
    jobs.delete("totals0004")
    assert durations() == {30: 1}
    assert jobs.requeue("totals0002", older_than=-1)  # silent run put back
    assert durations() == {30: 1, 60: 1}
    jobs.start("totals0002", 3)
    jobs.start("totals0001", 3)
    assert durations() == {} and jobs.queue_totals()["depth"] == 0


def test_create_returns_the_totals_queue_totals_would(jobs):
    jobs.heartbeat("worker-1")
    jobs.record_runtime(60, 4.0)
    jobs.record_runtime(60, 6.0)
    jobs.create("totals0001", "o", {**FIELDS, "duration": 60})
    record = jobs.create("totals0002", "o", {**FIELDS, "duration": 30}, runtimes=(30, 60, 120))
    expected = jobs.queue_totals("totals0002", runtimes=(30, 60, 120))
    assert record["queue_totals"] == expected == {
        "durations": {30: 1, 60: 1}, "depth": 2, "rank": 1, "workers": 1,
        "runtimes": {30: None, 60: 5.0, 120: None},
    }
    assert "queue_totals" not in jobs.get("totals0002")  # not stored in the record


def test_duplicate_delivery_of_a_live_run_is_dropped(jobs):
    jobs.create("dupjob0001", "o", dict(FIELDS))
    assert jobs.start("dupjob0001", 3, stall_seconds=90) == ("started", 1)
    # The stall sweep's requeue raced the original message: a second delivery
    # while the run still shows signs of life must not render again.
    assert jobs.start("dupjob0001", 3, stall_seconds=90) == ("duplicate", 0)
    assert jobs.start("dupjob0001", 3, stall_seconds=90) == ("duplicate", 0)
    record = jobs.get("dupjob0001")
    assert (record["status"], record["attempts"], record["losses"]) == ("started", 1, 0)


def test_silent_run_counts_as_a_loss(jobs):
    jobs.create("dupjob0002", "o", dict(FIELDS))
    jobs.start("dupjob0002", 3, stall_seconds=90)
    jobs.r.zadd("running", {"dupjob0002": time.time() - 91})
    assert jobs.start("dupjob0002", 3, stall_seconds=90) == ("started", 2)
    assert jobs.get("dupjob0002")["losses"] == 1


def test_redelivery_after_the_hard_deadline_fails_as_timed_out(jobs):
    jobs.create("dupjob0003", "o", dict(FIELDS), client=client_key("1.2.3.4"), max_owner=5)
    jobs.start("dupjob0003", 3, hard_limit=0.2)
    time.sleep(0.3)
    assert jobs.start("dupjob0003", 3) == ("timed_out", 0)
    record = jobs.get("dupjob0003")
    assert (record["status"], record["error"], record["attempts"]) == (
        "failed", TIME_LIMIT_ERROR, 1)
    assert jobs.r.scard(f"active:client:{client_key('1.2.3.4')}") == 0


def test_dead_workers_are_pruned_on_heartbeat(jobs):
    jobs.r.zadd("workers:alive", {"dead@host": time.time() - 7200, "recent@host": time.time()})
    jobs.heartbeat("me@host")
    assert sorted(m.decode() for m in jobs.r.zrange("workers:alive", 0, -1)) == [
        "me@host", "recent@host"]
