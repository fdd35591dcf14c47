"""Atomic transitions of job records."""

from __future__ import annotations

import threading

import pytest


def new_job(jobs, job_id="racejob0001"):
    jobs.create(job_id, "owner-a", {"prompt": "x", "duration": 30, "seed": 1})
    return job_id


@pytest.mark.parametrize("round_", range(40))
def test_cancel_and_start_race_never_both(jobs, round_):
    job_id = new_job(jobs, f"racejob{round_:04d}")
    barrier = threading.Barrier(8)
    results = {"cancel": [], "start": []}

    def cancel():
        barrier.wait()
        results["cancel"].append(jobs.cancel(job_id))

    def start():
        barrier.wait()
        results["start"].append(jobs.start(job_id, max_losses=3)[0])

    # One delivery of the task races seven cancel requests.
    threads = [threading.Thread(target=start if n == 0 else cancel) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    canceled = results["cancel"].count("ok")
    started = results["start"].count("started")
    final = jobs.get(job_id)["status"]
    assert (canceled == 1 and started == 0 and final == "canceled") or (
        canceled == 0 and started == 1 and final == "started"
    ), (results, final)


def test_start_counts_attempts_and_worker_losses(jobs):
    job_id = new_job(jobs)
    assert jobs.start(job_id, 3) == ("started", 1)
    jobs.mark_lost(job_id)  # as the worker's parent does when its pool child dies
    assert jobs.start(job_id, 3) == ("started", 2)  # redelivered: the first worker was lost
    assert jobs.get(job_id)["losses"] == 1
    jobs.mark_lost(job_id)
    assert jobs.start(job_id, 3) == ("started", 3)
    jobs.mark_lost(job_id)
    outcome, losses = jobs.start(job_id, 3)
    assert (outcome, losses) == ("gave_up", 3)
    record = jobs.get(job_id)
    assert record["status"] == "failed"
    assert record["error"] == "the job was interrupted 3 times (worker lost); giving up"


def test_a_retry_is_not_counted_as_a_loss(jobs):
    job_id = new_job(jobs)
    jobs.start(job_id, 3)
    jobs.update(job_id, retrying="1")
    assert jobs.start(job_id, 3) == ("started", 2)
    assert jobs.get(job_id)["losses"] == 0


def test_terminal_states_do_not_move(jobs):
    job_id = new_job(jobs)
    jobs.start(job_id, 3)
    assert jobs.finish(job_id, audio_key="audio/x.wav") == "ok"
    assert jobs.cancel(job_id) == "finished"
    assert jobs.fail(job_id, "late failure") == "finished"
    assert jobs.start(job_id, 3) == ("finished", 0)
    assert jobs.get(job_id)["status"] == "finished"
    assert jobs.cancel("nosuchjob123") == "missing"


def test_every_change_is_published(jobs):
    import json

    job_id = "eventjob0001"
    pubsub = jobs.r.pubsub()
    pubsub.subscribe(f"events:{job_id}")
    pubsub.get_message(timeout=1)  # subscription confirmation
    new_job(jobs, job_id)
    jobs.start(job_id, 3)
    jobs.set_progress(job_id, 50)
    jobs.finish(job_id, audio_key="audio/x.wav")
    events = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        events.append(json.loads(message["data"]))
    assert [e["event"] for e in events] == ["queued", "started", "progress", "finished"]
    assert events[2]["progress"] == 50


def test_records_expire(jobs):
    job_id = new_job(jobs)
    ttl = jobs.r.ttl(f"job:{job_id}")
    assert 0 < ttl <= jobs.retention


class _Replaying:
    """A client whose every script call is applied twice, answered once: what a
    retry after a lost reply (failover, reconnect) does to a Lua script."""

    def __init__(self, client):
        import redis

        class Twice(redis.Redis):
            def execute_command(self, *args, **options):
                if args and args[0] in ("EVALSHA", "EVAL"):
                    super().execute_command(*args, **options)
                return super().execute_command(*args, **options)

        self.client = Twice(connection_pool=client.connection_pool)


def test_every_transition_survives_being_applied_twice(jobs):
    from tasks.jobs.store import JobStore

    twice = JobStore(_Replaying(jobs.r).client, jobs.retention)
    record = twice.create("replay0001", "owner-r", {"prompt": "x", "duration": 30, "seed": 1},
                          max_owner=1, max_client=1)  # a recount would refuse it
    assert record["queue_position"] == 1
    assert twice.start("replay0001", max_losses=3) == ("started", 1)  # not 'duplicate'
    jobs.touch("replay0001")
    assert twice.requeue("replay0001", older_than=0) is True  # not "already queued"
    assert jobs.get("replay0001")["status"] == "queued"
    assert twice.start("replay0001", max_losses=3) == ("started", 2)
    assert twice.finish("replay0001", audio_key="audio/replay0001.wav") == "ok"
    final = jobs.get("replay0001")
    assert final["status"] == "finished" and final["attempts"] == 2 and final["losses"] == 1
    assert jobs.queue_totals()["depth"] == 0
    # A second, separate finish is still told the job is finished already.
    assert jobs.finish("replay0001", audio_key="audio/replay0001.wav") == "finished"
    assert twice.cancel("replay0001") == "finished"


def test_scripts_are_sent_again_after_noscript(jobs):
    # A promoted replica (or a restarted Redis) has an empty script cache.
    new_job(jobs, "noscript01")
    jobs.r.script_flush()
    assert jobs.start("noscript01", max_losses=3) == ("started", 1)
    jobs.r.script_flush()
    assert jobs.finish("noscript01", audio_key="audio/noscript01.wav") == "ok"
    assert jobs.get("noscript01")["status"] == "finished"


def test_any_text_survives_the_create_script(jobs):
    # The record's fields reach the script as one JSON object (cjson on Redis's side).
    prompt = '🎷 smooth jazz — café 日本語\n"quoted" \\ back\u2028 tab\t end'
    jobs.create("textjob0001", "owner-t", {"prompt": prompt, "duration": 30, "genre": "",
                                           "lyrics": "[verse]\nla la\n\n[chorus]\n"})
    record = jobs.get("textjob0001")
    assert (record["prompt"], record["duration"], record["genre"]) == (prompt, 30, "")
    assert record["lyrics"] == "[verse]\nla la\n\n[chorus]\n"
