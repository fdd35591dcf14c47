"""Reads write nothing, a per-IP read limit, and the client key it counts under."""

from __future__ import annotations

import time

import pytest
import redis


def session_keys(settings) -> int:
    return redis.Redis.from_url(settings.redis_url_for("sessions")).dbsize()


def test_cookieless_reads_create_no_session(client, app, settings, no_worker):
    owner = app.test_client()
    job_id = owner.post("/api/generate", json={"prompt": "jazz"}).get_json()["job_id"]
    before = session_keys(settings)
    assert before == 1
    for path, status in [
        ("/api/jobs", 200),
        (f"/api/jobs/{job_id}", 403),
        ("/api/jobs/unknown12345", 404),
        (f"/api/jobs/{job_id}/events", 403),
        (f"/api/audio/{job_id}", 403),
    ]:
        stranger = app.test_client()
        r = stranger.get(path)
        assert r.status_code == status, (path, r.data)
        assert not r.headers.getlist("Set-Cookie"), path
    assert app.test_client().get("/api/jobs").get_json() == {
        "jobs": [], "total": 0, "offset": 0, "limit": 20,
    }
    forged = app.test_client()
    forged.set_cookie("session_id", "forged-" + "B" * 30)
    assert forged.get(f"/api/jobs/{job_id}").status_code == 403
    assert session_keys(settings) == before


def test_generation_and_the_page_do_create_a_session(app, settings, no_worker):
    assert app.test_client().get("/").headers.getlist("Set-Cookie")
    assert app.test_client().post("/api/generate", json={"prompt": "x"}).status_code == 202
    assert session_keys(settings) == 2


def test_reads_are_limited_per_ip(make_settings, no_worker):
    from web import create_app

    app = create_app(make_settings(rate_limit_read_ip="4/minute"))
    owner = app.test_client()
    job_id = owner.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    codes = [owner.get(f"/api/jobs/{job_id}").status_code for _ in range(3)]
    codes.append(app.test_client().get("/api/jobs").status_code)  # another cookie, same IP
    r = owner.get(f"/api/jobs/{job_id}")
    assert codes == [200] * 4 and r.status_code == 429
    assert "Rate limit exceeded" in r.get_json()["detail"]
    assert 0 < int(r.headers["Retry-After"]) <= 60
    other_ip = app.test_client().get("/api/jobs", environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other_ip.status_code == 200
    assert app.test_client().get("/health").status_code == 200  # liveness is not limited


def test_read_limit_default_leaves_room_for_a_polling_page(settings):
    # The page polls up to 3 jobs every 5 s (36/minute) and downloads a few.
    count, _, period = settings.rate_limit_read_ip.partition("/")
    assert period == "minute" and int(count) >= 10 * 36


@pytest.mark.parametrize("address,key", [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("unknown", "unknown"),
])
def test_network_key(address, key):
    from web.identity import network_key

    assert network_key(address) == key


def test_ipv6_clients_share_a_limit_per_64(make_settings, no_worker):
    from web import create_app

    app = create_app(make_settings(rate_limit_ip="2/minute"))

    def post(address):
        return app.test_client().post(
            "/api/generate", json={"prompt": "x"}, environ_base={"REMOTE_ADDR": address}
        ).status_code

    assert [post(f"2001:db8:7:7::{n:x}") for n in range(1, 4)] == [202, 202, 429]
    assert post("2001:db8:7:8::1") == 202  # another /64
    assert [post(a) for a in ("198.51.100.4", "::ffff:198.51.100.4", "198.51.100.4")] == [
        202, 202, 429,
    ]


def test_session_life_restarts_with_each_generation(make_settings, no_worker):
    from web import create_app

    settings = make_settings(session_lifetime_hours=1, retention_hours=3)
    client = create_app(settings).test_client()
    sessions = redis.Redis.from_url(settings.redis_url_for("sessions"))
    assert client.post("/api/generate", json={"prompt": "x"}).status_code == 202
    (key,) = sessions.keys("session:*")
    record_life = 2 * 3 * 3600  # a job record lives 2 x RETENTION_HOURS
    assert sessions.ttl(key) >= record_life - 60
    sessions.expire(key, 120)  # near the end of its life...
    time.sleep(5.1)  # (past the per-process session cache)
    r = client.post("/api/generate", json={"prompt": "y"})
    assert sessions.ttl(key) >= record_life - 60  # ...a new job renews it
    assert any(h.startswith("session_id=") for h in r.headers.getlist("Set-Cookie"))
    assert client.get(f"/api/jobs/{r.get_json()['job_id']}").status_code == 200
