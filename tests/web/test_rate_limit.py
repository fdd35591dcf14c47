"""5 generations a minute per session, and a per-IP limit cookies cannot dodge."""

from __future__ import annotations


def make_client(make_settings, **overrides):
    from web import create_app

    app = create_app(make_settings(**overrides))
    return app


def test_sixth_generation_in_a_minute_is_429(make_settings, no_worker):
    app = make_client(make_settings, rate_limit_session="5/minute", rate_limit_ip="100/minute")
    client = app.test_client()
    for n in range(5):
        assert client.post("/api/generate", json={"prompt": f"p{n}"}).status_code == 202
    r = client.post("/api/generate", json={"prompt": "one too many"})
    assert r.status_code == 429
    assert "Rate limit exceeded" in r.get_json()["detail"]
    assert 0 < int(r.headers["Retry-After"]) <= 60
    assert client.get("/api/jobs").get_json()["total"] == 5  # the refused one left no job
    # A different session from the same IP still has its own allowance.
    assert app.test_client().post("/api/generate", json={"prompt": "x"}).status_code == 202


def test_rotating_cookies_hits_the_per_ip_limit(make_settings, no_worker):
    app = make_client(make_settings, rate_limit_session="5/minute", rate_limit_ip="7/minute")
    codes = [
        app.test_client().post("/api/generate", json={"prompt": "x"}).status_code for _ in range(9)
    ]  # a fresh cookie jar each time
    assert codes == [202] * 7 + [429] * 2


def test_forwarded_for_is_ignored_without_trusted_proxies(make_settings, no_worker):
    app = make_client(make_settings, rate_limit_ip="2/minute")
    codes = [
        app.test_client()
        .post("/api/generate", json={"prompt": "x"}, headers={"X-Forwarded-For": f"10.0.0.{n}"})
        .status_code
        for n in range(3)
    ]
    assert codes == [202, 202, 429]  # spoofed header did not make new "clients"


def test_forwarded_for_counts_behind_a_trusted_proxy(make_settings, no_worker):
    app = make_client(make_settings, rate_limit_ip="2/minute", trusted_proxy_count=1)

    def post(ip):
        return (
            app.test_client()
            .post("/api/generate", json={"prompt": "x"}, headers={"X-Forwarded-For": ip})
            .status_code
        )

    assert [post("198.51.100.1") for _ in range(3)] == [202, 202, 429]
    assert post("198.51.100.2") == 202


def test_only_generation_is_limited(make_settings, no_worker):
    app = make_client(make_settings, rate_limit_session="1/minute", rate_limit_ip="1/minute")
    client = app.test_client()
    job_id = client.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    for _ in range(10):
        assert client.get(f"/api/jobs/{job_id}").status_code == 200


def test_a_refused_submit_counts_against_none_of_its_limits(make_settings, no_worker):
    """Both limits are checked and counted by one script (web/submit_limits.py)."""
    app = make_client(make_settings, rate_limit_session="2/minute", rate_limit_ip="3/minute")
    first, second = app.test_client(), app.test_client()

    def post(client, address):
        return client.post("/api/generate", json={"prompt": "x"},
                           environ_base={"REMOTE_ADDR": address}).status_code

    # The first session's third submit is over its own limit: the network's is not charged.
    assert [post(first, "198.51.100.1") for _ in range(3)] == [202, 202, 429]
    assert post(second, "198.51.100.1") == 202  # the network's third
    # Over the network's limit: the second session's own allowance is not charged...
    assert post(second, "198.51.100.1") == 429
    # ...so from another network it still has its second submit, and no third.
    assert [post(second, "203.0.113.9") for _ in range(2)] == [202, 429]


def test_submit_limits_live_on_flask_limiters_keys(make_settings, settings, no_worker):
    import redis

    app = make_client(make_settings, rate_limit_session="5/minute")
    client = app.test_client()
    assert client.post("/api/generate", json={"prompt": "x"},
                       environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 202
    limits = redis.Redis.from_url(settings.redis_url_for("limits"))
    keys = sorted(k.decode() for k in limits.keys("*generate.create*"))
    assert len(keys) == 2
    assert any("/ip:198.51.100.7/generate.create/" in k for k in keys)
    assert any("/owner:" in k and k.endswith("/generate.create/5/1/minute") for k in keys)
    assert all(limits.type(k) == b"list" and limits.llen(k) == 1 for k in keys)


def test_a_submit_is_one_round_trip_limits_included(make_settings, settings, no_worker, sent):
    """The job's own script counts the limits (web/submit_limits.py): nothing else is sent."""
    import redis

    app = make_client(make_settings, rate_limit_session="3/minute", rate_limit_ip="100/minute")
    client = app.test_client()
    assert client.post("/api/generate", json={"prompt": "x"}).status_code == 202  # new session
    sent.clear()
    assert client.post("/api/generate", json={"prompt": "x"}).status_code == 202
    assert sent == ["EVALSHA"]
    limits = redis.Redis.from_url(settings.redis_url_for("limits"))
    (owner_key,) = limits.keys("*/owner:*generate.create*")
    assert limits.llen(owner_key) == 2
    assert client.post("/api/generate", json={"prompt": "x"}).status_code == 202
    sent.clear()
    r = client.post("/api/generate", json={"prompt": "x"})
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 60
    assert sent == ["EVALSHA"]
    assert client.get("/api/jobs").get_json()["total"] == 3  # the refused one left no job


def test_a_submit_refused_for_its_body_still_counts(make_settings, no_worker):
    """As under Flask-Limiter: bad bodies use up the allowance, and past it they get 429."""
    app = make_client(make_settings, rate_limit_session="100/minute", rate_limit_ip="3/minute")
    client = app.test_client()
    bad = [
        client.post("/api/generate", data="{", content_type="application/json"),
        client.post("/api/generate", json={"prompt": "x", "duration": 45}),
        client.post("/api/generate", data="prompt=x"),
    ]
    assert [r.status_code for r in bad] == [400, 400, 415]
    r = client.post("/api/generate", json={"prompt": "x"})
    assert r.status_code == 429, r.get_json()
    r = client.post("/api/generate", data="{", content_type="application/json")
    assert r.status_code == 429  # the full limit is answered before the body
