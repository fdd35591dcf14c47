"""GET /api/jobs/{id}: the read allowance and the record in one Redis round trip."""

from __future__ import annotations

import redis


def test_a_poll_is_one_round_trip_and_writes_no_session(app, no_worker, sent, settings):
    owner = app.test_client()
    job_id = owner.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    sessions = redis.Redis.from_url(settings.redis_url_for("sessions"))
    (key,) = sessions.keys("session:*")
    stored = sessions.get(key)
    assert owner.get(f"/api/jobs/{job_id}").status_code == 200  # session now cached
    sent.clear()
    r = owner.get(f"/api/jobs/{job_id}")
    assert r.status_code == 200 and r.get_json()["queue_position"] == 1
    assert sent == ["EVALSHA"]
    assert not r.headers.getlist("Set-Cookie")
    assert sessions.get(key) == stored


def test_the_allowance_is_shared_with_other_reads_across_processes(make_settings, no_worker):
    from web import create_app

    settings = make_settings(rate_limit_read_ip="6/minute")
    first, second = create_app(settings), create_app(settings)  # two API processes
    owner = first.test_client()
    job_id = owner.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    cookie = owner.get_cookie("session_id").value
    other = second.test_client()
    other.set_cookie("session_id", cookie)
    codes = [
        owner.get(f"/api/jobs/{job_id}").status_code,
        other.get(f"/api/jobs/{job_id}").status_code,
        owner.get("/api/jobs").status_code,
        other.get("/api/jobs").status_code,
        owner.get("/api/jobs/not-a-job").status_code,  # malformed ids count too
        other.get(f"/api/jobs/{job_id}").status_code,
    ]
    assert codes == [200, 200, 200, 200, 404, 200]
    poll, listing = other.get(f"/api/jobs/{job_id}"), owner.get("/api/jobs")
    for r in (poll, listing):
        assert r.status_code == 429
        assert r.get_json()["detail"] == (
            "Rate limit exceeded (6 per 1 minute). Please wait before retrying."
        )
        assert 0 < int(r.headers["Retry-After"]) <= 60


def test_a_limited_poll_reads_no_record(make_settings, no_worker, sent):
    from web import create_app

    app = create_app(make_settings(rate_limit_read_ip="1/minute"))
    owner = app.test_client()
    job_id = owner.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    assert owner.get(f"/api/jobs/{job_id}").status_code == 200
    r = owner.get(f"/api/jobs/{job_id}")
    assert r.status_code == 429 and "job_id" not in r.get_json()


def test_limiter_hooks_are_dropped_only_when_idle():
    from flask import Flask
    from flask_limiter import Limiter

    from web.extensions import drop_idle_middleware

    def injects_headers(app, extension) -> bool:
        return any(getattr(hook, "args", None) == (extension,)
                   for hook in app.after_request_funcs[None])

    for defaults, headers, deduct, kept, kept_after in (
        ([], False, False, False, False),
        (["1/minute"], False, False, True, False),
        ([], True, False, False, True),
        ([], False, True, False, True),
    ):
        app = Flask(__name__)
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"
        extension = Limiter(key_func=lambda: "k", default_limits=defaults,
                            headers_enabled=headers)
        extension.init_app(app)
        assert injects_headers(app, extension)

        @app.get("/")
        @extension.limit("5/minute", deduct_when=(lambda response: True) if deduct else None)
        def view():
            return "ok"

        drop_idle_middleware(app, extension)
        assert (extension._check_request_limit in app.before_request_funcs[None]) is kept
        assert injects_headers(app, extension) is kept_after
        assert not app.teardown_request_funcs.get(None)
        with app.test_client() as client:  # the limit still holds, hooks or not
            assert [client.get("/").status_code for _ in range(6)] == [200] * 5 + [429]


def test_a_poll_after_a_script_flush_counts_once(make_settings, no_worker, sent, settings):
    """The poll's script is sent straight on a connection; after Redis forgot it
    (a restart, SCRIPT FLUSH) redis-py's own call loads it, and the read counts once."""
    from web import create_app

    app = create_app(make_settings(rate_limit_read_ip="3/minute"))
    owner = app.test_client()
    job_id = owner.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    assert owner.get(f"/api/jobs/{job_id}").status_code == 200
    redis.Redis.from_url(settings.redis_url_for("jobs")).script_flush()
    sent.clear()
    assert owner.get(f"/api/jobs/{job_id}").status_code == 200
    assert sent == ["EVALSHA", "EVALSHA", "SCRIPT", "EVALSHA"]  # refused twice, loaded, run
    assert owner.get(f"/api/jobs/{job_id}").status_code == 200  # the third read of three
    assert owner.get(f"/api/jobs/{job_id}").status_code == 429
