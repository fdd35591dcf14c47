"""JobEventStream without a server: a fake subscription and a fake clock."""

from __future__ import annotations

from web.event_stream import JobEventStream
from web.live import RESYNC, LiveEvent


class FakeSub:
    def __init__(self, messages):
        self.messages = list(messages)
        self.closed = 0

    def get(self, timeout):
        return self.messages.pop(0) if self.messages else None

    def close(self):
        self.closed += 1


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0  # every look at the clock is a second later
        return self.now


def record(status, **extra):
    return {"job_id": "abcdefgh1234", "status": status, "created_at": "t", "prompt": "p",
            "duration": 30, "owner": "o", **extra}


def make(messages, rec=None, fetch=None, max_seconds=1000.0):
    sub = FakeSub(messages)
    stream = JobEventStream(
        sub, rec or record("queued", queue_position=2), fetch=fetch or (lambda _id: None),
        wait_estimate=lambda _rec: 42, keepalive=15.0, max_seconds=max_seconds, clock=Clock(),
    )
    return stream, sub


def events(chunks):
    return [c.split("\n")[1].removeprefix("event: ") for c in chunks if c.startswith("id:")]


def test_queued_started_progress_finished_then_closes():
    started = record("started", progress=0)
    stream, sub = make([
        {"event": "started", "record": started},
        {"event": "progress", "progress": 50},
        {"event": "progress", "progress": 50},  # a repeat is not sent twice
        {"event": "finished", "record": record("finished")},
    ])
    chunks = list(stream)
    assert chunks[0].startswith("retry:")
    assert events(chunks) == ["queued", "started", "progress", "finished"]
    assert '"estimated_wait":42' in chunks[1]
    assert sub.closed == 1


def test_close_is_idempotent_and_needs_no_iteration():
    stream, sub = make([])
    stream.close()
    stream.close()
    assert sub.closed == 1


def test_resync_rereads_and_a_vanished_job_ends_the_stream():
    stream, sub = make([RESYNC], fetch=lambda _id: None)
    chunks = list(stream)
    assert chunks[-1] == ": job no longer exists\n\n"
    assert sub.closed == 1


def test_stream_ends_after_max_seconds_with_keepalives():
    stream, _ = make([], max_seconds=40.0)
    chunks = list(stream)
    assert chunks[-1].startswith(": max stream duration")
    assert any(c == ": keep-alive\n\n" for c in chunks)


def ids(chunks):
    return [c.split("\n")[0].removeprefix("id: ") for c in chunks if c.startswith("id:")]


def resumed(last_event_id, rec, messages=()):
    stream = JobEventStream(
        FakeSub(messages), rec, fetch=lambda _id: rec, wait_estimate=lambda _rec: 42,
        keepalive=15.0, max_seconds=1000.0, clock=Clock(), last_event_id=last_event_id,
    )
    return list(stream)


def test_event_ids_name_the_state_they_report():
    started = record("started", progress=0, attempts=1)
    stream, _ = make([
        {"event": "started", "record": started},
        {"event": "progress", "progress": 50},
        {"event": "finished", "record": record("finished", attempts=1)},
    ])
    assert ids(list(stream)) == ["0.queued.-1", "1.started.0", "1.started.50", "1.finished.-1"]


def test_last_event_id_resumes_after_what_the_client_has():
    running = record("started", progress=50, attempts=1)
    # Saw progress 50 of this run: nothing to repeat, the rest follows.
    chunks = resumed("1.started.50", running,
                     [{"event": "finished", "record": record("finished", attempts=1)}])
    assert events(chunks) == ["finished"]
    # Saw only the start: the current progress first.
    assert events(resumed("1.started.0", running, [
        {"event": "finished", "record": record("finished", attempts=1)}])) == [
        "progress", "finished"]
    # Saw the end already: the stream closes at once, sending nothing again.
    assert events(resumed("1.finished.-1", record("finished", attempts=1))) == []
    # Missed the end (the stream was cut by a failover): the terminal event.
    assert events(resumed("1.started.50", record("finished", attempts=1))) == ["finished"]


def test_a_run_again_or_a_foreign_id_starts_afresh():
    # The job was requeued and started again since: its new run is news.
    again = record("started", progress=10, attempts=2)
    chunks = resumed("1.started.90", again,
                     [{"event": "finished", "record": record("finished", attempts=2)}])
    assert events(chunks) == ["started", "finished"]
    for junk in ("", "7", "x.y.z", "1.started.50\nevent: evil", "9" * 40):
        assert events(resumed(junk, record("finished", attempts=1))) == ["finished"]
    # A terminal id for a job still running was never sent by the server.
    running = record("started", progress=50, attempts=1)
    assert events(resumed("1.canceled.-1", running, [
        {"event": "finished", "record": record("finished", attempts=1)}])) == [
        "started", "finished"]


def test_streams_in_the_same_state_share_one_text_per_message():
    started = LiveEvent({"event": "started"}, record=record("started", progress=0, attempts=1))
    progress = LiveEvent({"event": "progress", "progress": 40})
    finished = LiveEvent({"event": "finished"}, record=record("finished", attempts=1))
    plain = [{"event": "started", "record": record("started", progress=0, attempts=1)},
             {"event": "progress", "progress": 40},
             {"event": "finished", "record": record("finished", attempts=1)}]
    one, _ = make([started, progress, finished])
    two, _ = make([started, progress, finished])
    alone, _ = make(plain)
    first, second, unshared = list(one), list(two), list(alone)
    # The same text as a stream building its own, built once for both.
    assert first == second == unshared
    assert all(a is b for a, b in zip(first[2:], second[2:], strict=True))
    assert len(finished.shared) == 2  # the job's view and one text


def test_a_stream_in_another_state_gets_its_own_text_from_a_shared_message():
    progress = LiveEvent({"event": "progress", "progress": 40})
    ahead, _ = make([LiveEvent({"event": "started"},
                               record=record("started", progress=0, attempts=2)), progress])
    behind, _ = make([LiveEvent({"event": "started"},
                                record=record("started", progress=0, attempts=1)), progress])
    assert ids(list(ahead))[-1] == "2.started.40"
    assert ids(list(behind))[-1] == "1.started.40"


def test_a_first_queued_event_keeps_its_own_wait_estimate():
    # Requeued (a new attempt): each stream's first queued event has its own estimate.
    requeued = LiveEvent({"event": "queued"},
                         record=record("queued", queue_position=3, attempts=2))
    texts = []
    for estimate in (42, 7):
        stream = JobEventStream(
            FakeSub([requeued]), record("started", progress=10, attempts=1),
            fetch=lambda _id: None, wait_estimate=lambda _rec, e=estimate: e,
            keepalive=15.0, max_seconds=1000.0, clock=Clock(),
        )
        stream.state_event(stream.record)  # the first event, as the stream starts
        texts.append(stream.on_message(requeued))
    assert '"estimated_wait":42' in texts[0] and '"estimated_wait":7' in texts[1]
    assert "estimated_wait" not in requeued.shared["view"]
