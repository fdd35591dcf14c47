"""`GET /api/jobs` (pagination, order, ownership) and the job event stream (SSE)."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from tests.conftest import wait_status

PROMPT = "Chill lo-fi hip hop beat with vinyl crackle and mellow piano chords"


def submit(client, **body) -> str:
    r = client.post("/api/generate", json={"prompt": PROMPT, "duration": 30, **body})
    assert r.status_code == 202, r.get_json()
    return r.get_json()["job_id"]


def parse_sse(chunks):
    """Yield ("event", name, data) for events and ("comment", text, None) for comments."""
    buffer = ""
    for chunk in chunks:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            name, data = "message", []
            for line in block.split("\n"):
                if line.startswith(":"):
                    yield ("comment", line[1:].strip(), None)
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
            if data:
                yield ("event", name, json.loads("\n".join(data)))


class Stream:
    """An open event stream on the Flask test client, read one event at a time."""

    def __init__(self, client, job_id: str):
        self.response = client.get(f"/api/jobs/{job_id}/events", buffered=False)
        self.items = parse_sse(self.response.response) if self.response.status_code == 200 else None
        self.comments: list[str] = []

    def next_event(self):
        for kind, name, data in self.items:
            if kind == "event":
                return name, data
            self.comments.append(name)
        return None

    def rest(self) -> list[tuple[str, dict]]:
        events = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def close(self):
        self.response.close()


# --- GET /api/jobs ----------------------------------------------------------------


def test_list_is_newest_first_paginated_and_own_jobs_only(app, client, no_worker):
    ids = [submit(client, prompt=f"{PROMPT} take {i}") for i in range(5)]
    stranger = app.test_client()
    submit(stranger)

    body = client.get("/api/jobs?limit=2&offset=0").get_json()
    assert body["total"] == 5 and body["offset"] == 0 and body["limit"] == 2
    assert [j["job_id"] for j in body["jobs"]] == ids[::-1][:2]

    pages = [client.get(f"/api/jobs?limit=2&offset={o}").get_json()["jobs"] for o in (0, 2, 4)]
    assert [j["job_id"] for page in pages for j in page] == ids[::-1]
    assert len(pages[2]) == 1
    assert client.get("/api/jobs?limit=2&offset=5").get_json()["jobs"] == []

    first = pages[0][0]
    assert first["status"] == "queued" and first["prompt"] == f"{PROMPT} take 4"
    assert first["queue_position"] == 5

    other = stranger.get("/api/jobs").get_json()
    assert other["total"] == 1 and other["jobs"][0]["job_id"] not in ids
    assert app.test_client().get("/api/jobs").get_json() == {
        "jobs": [], "total": 0, "offset": 0, "limit": 20,
    }


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=x"])
def test_list_rejects_bad_paging(client, query):
    r = client.get(f"/api/jobs?{query}")
    assert r.status_code == 400 and "detail" in r.get_json()


# --- the event stream: ownership and the simple cases ------------------------------


def test_events_404_and_403(app, client, no_worker):
    for job_id in ("doesNotExist1", "bad$chars!!"):
        r = client.get(f"/api/jobs/{job_id}/events")
        assert r.status_code == 404
        assert r.get_json() == {"detail": "Job not found"}
    job_id = submit(client)
    r = app.test_client().get(f"/api/jobs/{job_id}/events")
    assert r.status_code == 403
    assert r.get_json() == {"detail": "This job belongs to another session"}


def test_stream_headers_and_terminal_job_ends_at_once(app, client, jobs, no_worker):
    job_id = submit(client)
    jobs.start(job_id, 3)
    jobs.fail(job_id, "the engine ran out of ideas")
    stream = Stream(client, job_id)
    assert stream.response.status_code == 200
    assert stream.response.mimetype == "text/event-stream"
    assert stream.response.headers["Cache-Control"] == "no-store"
    events = stream.rest()
    assert [name for name, _ in events] == ["failed"]
    assert events[0][1]["error"] == "the engine ran out of ideas"
    assert events[0][1]["job_id"] == job_id


def test_stream_follows_transitions_driven_on_the_store(client, jobs, no_worker):
    """Deterministic: the test itself moves the job along while the stream is open."""
    ahead = submit(client)
    job_id = submit(client)
    stream = Stream(client, job_id)
    name, data = stream.next_event()
    assert name == "queued"
    assert data["queue_position"] == 2 and isinstance(data["estimated_wait"], int)

    jobs.cancel(ahead)  # not published on this job's channel: seen by the periodic re-check
    name, data = stream.next_event()
    assert (name, data["queue_position"]) == ("queued", 1)
    assert "estimated_wait" not in data  # computed once per stream (O(queue length))

    assert jobs.start(job_id, 3)[0] == "started"
    name, data = stream.next_event()
    assert (name, data["status"], data["progress"]) == ("started", "started", 0)
    assert "queue_position" not in data and data["job_id"] == job_id
    for percent in (10, 10, 60, 40, 100):  # repeats and regressions are not sent
        jobs.set_progress(job_id, percent)
    jobs.finish(job_id, audio_key=f"audio/{job_id}.wav")
    events = stream.rest()
    assert [(n, d.get("progress")) for n, d in events] == [
        ("progress", 10), ("progress", 60), ("progress", 100), ("finished", 100),
    ]
    assert events[-1][1]["audio_url"] == f"/api/audio/{job_id}"


def test_keepalive_comments_and_max_duration(make_settings, no_worker):
    from web import create_app

    app = create_app(make_settings(events_max_seconds=1))
    app.config["EVENTS_KEEPALIVE_SECONDS"] = 0.25
    client = app.test_client()
    job_id = submit(client)
    stream = Stream(client, job_id)
    began = time.monotonic()
    events = stream.rest()
    took = time.monotonic() - began
    assert [name for name, _ in events] == ["queued"]
    assert 0.9 < took < 5
    assert stream.comments.count("keep-alive") >= 2
    assert stream.comments[-1].startswith("max stream duration reached")


def test_closing_the_stream_unsubscribes(client, no_worker):
    from web.job_access import jobs as current_jobs
    from web.live import hub_for

    job_id = submit(client)
    with client.application.app_context():
        hub = hub_for(current_jobs())
    before = hub.listener_count()
    stream = Stream(client, job_id)
    assert stream.next_event()[0] == "queued"
    assert hub.listener_count() == before + 1
    stream.close()
    assert hub.listener_count() == before


# --- with a real worker ------------------------------------------------------------------


def test_real_job_streams_queued_started_progress_finished(client, worker_pool, settings):
    worker_pool.ensure(FIXED_ENGINE_MS="1200", FIXED_ENGINE_STEPS="4")
    first = submit(client)  # keeps the only worker busy, so the next one is seen queued
    wait_status(client, first, statuses=("started",), timeout=30)
    job_id = submit(client)
    stream = Stream(client, job_id)
    events = stream.rest()
    names = [n for n, _ in events]
    assert names[0] == "queued" and events[0][1]["queue_position"] == 1
    assert names[1] == "started"
    assert names[-1] == "finished"
    progress = [d["progress"] for n, d in events if n == "progress"]
    assert progress == sorted(set(progress)) and progress[-1] == 100 and len(progress) >= 3
    assert names == ["queued", "started", *["progress"] * len(progress), "finished"]
    done = events[-1][1]
    assert done["audio_url"] == f"/api/audio/{job_id}" and done["engine"] == "fixed"
    assert done["understood"] == {"latency_ms": 1200.0}


def test_canceled_job_stream_ends_with_canceled(client, worker_pool, settings):
    worker_pool.ensure(FIXED_ENGINE_MS="4000")
    busy = submit(client)
    wait_status(client, busy, statuses=("started",), timeout=30)
    job_id = submit(client)
    stream = Stream(client, job_id)
    assert stream.next_event()[0] == "queued"
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    events = stream.rest()
    assert [n for n, _ in events] == ["canceled"]
    assert events[0][1]["status"] == "canceled"


# --- under gunicorn (gevent) ----------------------------------------------------------------


def test_many_concurrent_streams_on_gevent_gunicorn(live_api, worker, settings):
    """Forty streams stay open at once, each gets its job's events, and all end."""
    session = requests.Session()
    ids = []
    for i in range(4):
        r = session.post(f"{live_api.url}/api/generate",
                         json={"prompt": f"{PROMPT} {i}", "duration": 30})
        assert r.status_code == 202
        ids.append(r.json()["job_id"])
    results: dict[int, list[str]] = {}

    def listen(n: int, job_id: str):
        with session.get(f"{live_api.url}/api/jobs/{job_id}/events", stream=True,
                         timeout=30) as r:
            assert r.status_code == 200
            results[n] = [name for kind, name, _ in parse_sse(r.iter_content(None))
                          if kind == "event"]

    threads = [threading.Thread(target=listen, args=(n, ids[n % 4])) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 40
    for names in results.values():
        assert names[-1] == "finished", names


def _open_subscriptions(client) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("music_event_subscriptions") and not line.startswith("#"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no music_event_subscriptions gauge in /metrics")


def test_head_and_unread_streams_release_their_subscription(client, no_worker):
    """HEAD never iterates the body: the subscription must still be released."""
    from web.job_access import jobs as current_jobs
    from web.live import hub_for

    job_id = submit(client)
    with client.application.app_context():
        hub = hub_for(current_jobs())
    before, gauge_before = hub.listener_count(), _open_subscriptions(client)
    for _ in range(50):
        r = client.head(f"/api/jobs/{job_id}/events")
        assert r.status_code == 200
        r.close()
    # A GET whose body is never read, closed by the client going away.
    unread = client.get(f"/api/jobs/{job_id}/events", buffered=False)
    unread.close()
    assert hub.listener_count() == before
    assert _open_subscriptions(client) == gauge_before
