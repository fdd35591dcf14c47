"""Open event streams are capped per session and per client, across processes (Redis)."""

from __future__ import annotations

import time

import redis


# The test client keeps each unread stream's request context pushed, so streams
# here are closed last-opened first.
def open_stream(client, job_id, **kwargs):
    return client.get(f"/api/jobs/{job_id}/events", buffered=False, **kwargs)


def test_a_session_gets_its_cap_and_the_slot_comes_back_on_close(make_settings, no_worker):
    from web import create_app

    app = create_app(make_settings(max_streams_per_session=3, max_streams_per_ip=10))
    client = app.test_client()
    job_id = client.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    streams = [open_stream(client, job_id) for _ in range(3)]
    assert [s.status_code for s in streams] == [200] * 3
    r = open_stream(client, job_id)
    assert r.status_code == 429 and r.is_json
    assert "this session already has 3 open event streams" in r.get_json()["detail"]
    assert r.headers["Retry-After"]
    streams.pop().close()
    again = open_stream(client, job_id)
    assert again.status_code == 200
    head = client.head(f"/api/jobs/{job_id}/events")  # HEAD takes and returns a slot
    assert head.status_code == 429  # ...but none is free now
    for s in reversed([*streams, again]):
        s.close()
    head = client.head(f"/api/jobs/{job_id}/events")
    assert head.status_code == 200
    head.close()  # what the server does after sending the headers
    slots = app.extensions["stream_slots"]
    assert slots.count("ip", "127.0.0.1") == 0


def test_sessions_behind_one_ip_share_the_ip_cap(make_settings, no_worker):
    from web import create_app

    app = create_app(make_settings(max_streams_per_session=2, max_streams_per_ip=3))
    clients = [app.test_client() for _ in range(2)]
    ids = [c.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"] for c in clients]
    held = [open_stream(clients[0], ids[0]), open_stream(clients[0], ids[0]),
            open_stream(clients[1], ids[1])]
    assert [s.status_code for s in held] == [200] * 3
    r = open_stream(clients[1], ids[1])
    assert r.status_code == 429
    assert "your network address already has 3" in r.get_json()["detail"]
    other_ip = open_stream(clients[1], ids[1], environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert other_ip.status_code == 200
    for s in reversed([*held, other_ip]):
        s.close()


def test_a_refused_stream_leaves_no_subscription(make_settings, no_worker):
    from web import create_app
    from web.job_access import jobs
    from web.live import hub_for

    app = create_app(make_settings(max_streams_per_session=1))
    client = app.test_client()
    job_id = client.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    with app.app_context():
        hub = hub_for(jobs())
    before = hub.listener_count()
    held = open_stream(client, job_id)
    for _ in range(5):
        assert open_stream(client, job_id).status_code == 429
    assert hub.listener_count() == before + 1
    held.close()
    assert hub.listener_count() == before


def test_slots_of_a_crashed_process_lapse(settings):
    from web.stream_slots import StreamCapExceeded, StreamSlots

    r = redis.Redis.from_url(settings.redis_url_for("limits"))
    slots = StreamSlots(r, lifetime=0)
    slots.lifetime = 0.3  # a stream's life plus margin, shortened for the test
    held = [slots.acquire([("session", "o1", 2)]) for _ in range(2)]
    try:
        slots.acquire([("session", "o1", 2)])
        raise AssertionError("the cap was not enforced")
    except StreamCapExceeded as exc:
        assert exc.scope == "session" and exc.cap == 2
    time.sleep(0.4)  # nobody released them: the process "crashed"
    slots.acquire([("session", "o1", 2)])
    assert slots.count("session", "o1") == 1
    assert r.ttl("streams:session:o1") > 0  # the set itself expires too
    del held


def test_all_or_nothing(settings):
    from web.stream_slots import StreamCapExceeded, StreamSlots

    r = redis.Redis.from_url(settings.redis_url_for("limits"))
    slots = StreamSlots(r, lifetime=60)
    slots.acquire([("ip", "a", 1)])
    try:
        slots.acquire([("session", "s", 5), ("ip", "a", 1)])
        raise AssertionError("the IP cap was not enforced")
    except StreamCapExceeded as exc:
        assert exc.scope == "ip"
    assert slots.count("session", "s") == 0  # the refused stream took no session slot
