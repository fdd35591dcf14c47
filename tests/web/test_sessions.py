"""The session cookie, server-side sessions and CORS."""

from __future__ import annotations

import json

import redis


def cookie_header(response) -> str:
    return next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session_id="))


def test_first_api_request_sets_a_locked_down_cookie(client):
    r = client.post("/api/generate", json={"prompt": "jazz"})
    header = cookie_header(r)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # local mode: browsers drop Secure cookies on http://


def test_secure_cookie_outside_local_mode(make_settings):
    from web import create_app

    app = create_app(make_settings(local_mode=False, secret_key="s3cret"))
    header = cookie_header(app.test_client().post("/api/generate", json={"prompt": "jazz"}))
    assert "Secure" in header


def test_samesite_none_for_cross_site_front_ends(make_settings):
    from web import create_app

    settings = make_settings(session_cookie_samesite="None", session_cookie_secure=True)
    header = cookie_header(
        create_app(settings).test_client().post("/api/generate", json={"prompt": "jazz"})
    )
    assert "SameSite=None" in header and "Secure" in header


def test_session_is_stored_server_side_as_json(client, settings):
    r = client.post("/api/generate", json={"prompt": "jazz"})
    sid = cookie_header(r).split(";")[0].split("=", 1)[1]
    raw = redis.Redis.from_url(settings.redis_url_for("sessions")).get(f"session:{sid}")
    data = json.loads(raw)  # JSON, never pickle
    assert isinstance(data["owner"], str) and len(data["owner"]) >= 16
    assert sid not in raw.decode()  # the owner id is not the cookie


def test_forged_cookie_gets_a_fresh_session(app, client):
    job_id = client.post("/api/generate", json={"prompt": "jazz"}).get_json()["job_id"]
    forger = app.test_client()
    forger.set_cookie("session_id", "forged-value-123")
    r = forger.get(f"/api/jobs/{job_id}")
    assert r.status_code == 403
    assert not r.headers.getlist("Set-Cookie")  # a read never issues a session
    r = forger.post("/api/generate", json={"prompt": "mine"})
    new_sid = cookie_header(r).split(";")[0].split("=", 1)[1]
    assert new_sid != "forged-value-123" and len(new_sid) >= 32


def test_same_cookie_keeps_the_same_owner(app, client):
    job_id = client.post("/api/generate", json={"prompt": "jazz"}).get_json()["job_id"]
    sid = client.get_cookie("session_id").value
    other = app.test_client()
    other.set_cookie("session_id", sid)  # e.g. a second tab of the same browser
    assert other.get(f"/api/jobs/{job_id}").status_code == 200


def test_health_creates_no_session(client):
    r = client.get("/health")
    assert r.get_json() == {"status": "healthy", "version": "1.0.0"}
    assert not r.headers.getlist("Set-Cookie")


def test_cors_allows_listed_origins_with_credentials(make_settings):
    from web import create_app

    client = create_app(make_settings(cors_origins=("https://app.example",))).test_client()
    pre = client.options(
        "/api/generate",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    r = client.post(
        "/api/generate", json={"prompt": "jazz"}, headers={"Origin": "https://app.example"}
    )
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Location" in r.headers["Access-Control-Expose-Headers"]

    evil = client.options(
        "/api/generate",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_no_cors_headers_without_configured_origins(client):
    r = client.get("/api/jobs", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_non_api_routes_never_touch_the_session_store(app, client, monkeypatch):
    client.get("/api/jobs")  # now the client carries a session cookie
    inner = app.session_interface.inner

    def unreachable(*args, **kwargs):
        raise AssertionError("the session store was used")

    monkeypatch.setattr(inner, "open_session", unreachable)
    monkeypatch.setattr(inner, "save_session", unreachable)
    for path in ("/health", "/health/ready", "/metrics", "/openapi.json"):
        r = client.get(path)
        assert r.status_code in (200, 503), path  # ready may lack a worker here
        assert not r.headers.getlist("Set-Cookie")


def test_a_polling_client_reads_its_session_from_redis_once(app, client, monkeypatch):
    job_id = client.post("/api/generate", json={"prompt": "jazz"}).get_json()["job_id"]
    client.get(f"/api/jobs/{job_id}")  # loaded from Redis and remembered
    inner = app.session_interface.inner
    calls = []
    original = inner.open_session
    monkeypatch.setattr(inner, "open_session", lambda *a: calls.append(1) or original(*a))
    for _ in range(5):
        assert client.get(f"/api/jobs/{job_id}").status_code == 200
    assert calls == []
    stranger = app.test_client()
    stranger.set_cookie("session_id", "never-issued-by-us")
    assert stranger.get(f"/api/jobs/{job_id}").status_code == 403  # not from the cache
    assert calls == [1]


def test_a_new_job_renews_the_session_without_writing_it_again(app, client, settings,
                                                                 monkeypatch):
    first = client.post("/api/generate", json={"prompt": "jazz"})
    sid = cookie_header(first).split(";")[0].split("=", 1)[1]
    sessions = redis.Redis.from_url(settings.redis_url_for("sessions"))
    key = f"session:{sid}"
    stored = sessions.get(key)
    life = int(app.permanent_session_lifetime.total_seconds())
    sessions.expire(key, 100)
    inner = app.session_interface.inner
    upserts = []
    original = inner._upsert_session
    monkeypatch.setattr(inner, "_upsert_session", lambda *a: upserts.append(1) or original(*a))

    second = client.post("/api/generate", json={"prompt": "more jazz"})
    assert second.status_code == 202
    assert sessions.ttl(key) > life - 60  # its life restarted, in the job's own script...
    assert upserts == [] and sessions.get(key) == stored  # ...without a second write
    header = cookie_header(second)  # and the browser's cookie is extended as well
    assert header.startswith(f"session_id={sid};") and "Expires=" in header
    assert "HttpOnly" in header and "SameSite=Lax" in header

    sessions.delete(key)  # gone meanwhile (this process still remembers it): saved again
    assert client.post("/api/generate", json={"prompt": "last"}).status_code == 202
    assert upserts == [1] and json.loads(sessions.get(key)) == json.loads(stored)
    assert sessions.ttl(key) > life - 60
