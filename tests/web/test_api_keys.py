"""API keys: the `flask keys` commands, bearer auth on /api, client-owned jobs, client limits."""

from __future__ import annotations

import re
import time

import redis


def _app(make_settings, **overrides):
    from web import create_app

    return create_app(make_settings(**overrides))


def new_key(app, name="acme", *options) -> str:
    return new_key_and_id(app, name, *options)[0]


def new_key_and_id(app, name="acme", *options) -> tuple[str, str]:
    result = app.test_cli_runner().invoke(args=["keys", "create", name, *options])
    assert result.exit_code == 0, result.output
    key_id = re.search(r"key id (key_[0-9a-f]+)", result.output).group(1)
    return result.output.strip().splitlines()[-1], key_id


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _submit(client, key, prompt="hook", **extra):
    return client.post("/api/generate", json={"prompt": prompt, "duration": 30, **extra},
                       headers=bearer(key))


def test_keys_create_list_revoke_store_only_a_hash(app, settings):
    key = new_key(app, "acme", "--rate", "3/minute", "--max-active", "2")
    assert key.startswith("mgk_") and len(key) >= 40
    second = new_key(app, "acme")
    assert second != key
    listing = app.test_cli_runner().invoke(args=["keys", "list"]).output
    assert listing.count("acme") == 2 and "3/minute / 2" in listing
    jobs_db = redis.Redis.from_url(settings.redis_url_for("jobs"))
    for k in jobs_db.scan_iter():
        dump = repr(jobs_db.hgetall(k) if jobs_db.type(k) == b"hash" else jobs_db.dump(k))
        assert key not in dump and key[4:] not in dump
        assert key not in listing
    key_id = listing.split("\n")[1].split()[0]
    revoked = app.test_cli_runner().invoke(args=["keys", "revoke", key_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    rows = app.test_cli_runner().invoke(args=["keys", "list"]).output.splitlines()[1:]
    revoked_row = next(row for row in rows if row.startswith(key_id))
    assert revoked_row.split()[3].startswith("20")  # a revocation time, not "-"
    assert [row.split()[3] for row in rows if not row.startswith(key_id)] == ["-"]
    bad = app.test_cli_runner().invoke(args=["keys", "revoke", "key_nope"])
    assert bad.exit_code != 0 and "no key" in bad.output
    bad_rate = app.test_cli_runner().invoke(args=["keys", "create", "x", "--rate", "lots"])
    assert bad_rate.exit_code != 0


def test_bearer_requests_get_no_cookie_and_own_their_clients_jobs(app, no_worker):
    key, other_key_same_client = new_key(app, "acme"), new_key(app, "acme")
    stranger = new_key(app, "globex")
    client = app.test_client()
    r = _submit(client, key)
    assert r.status_code == 202, r.get_json()
    assert "Set-Cookie" not in r.headers and "session_id" not in r.headers.get("Vary", "")
    job_id = r.get_json()["job_id"]
    assert client.get(f"/api/jobs/{job_id}", headers=bearer(other_key_same_client)).status_code \
        == 200
    assert client.get(f"/api/jobs/{job_id}", headers=bearer(stranger)).status_code == 403
    browser = app.test_client()
    browser.post("/api/generate", json={"prompt": "mine"})  # a session of its own
    assert browser.get(f"/api/jobs/{job_id}").status_code == 403
    assert client.get(f"/api/jobs/{job_id}", headers=bearer(stranger)).get_json()["detail"]
    # Any of the client's keys may cancel.
    assert client.delete(f"/api/jobs/{job_id}", headers=bearer(other_key_same_client)
                         ).status_code == 204


def test_missing_malformed_unknown_and_revoked_keys_are_401(app, no_worker):
    key = new_key(app)
    client = app.test_client()
    # A browser session exists, but a bearer header never falls back to it.
    assert client.post("/api/generate", json={"prompt": "cookie"}).status_code == 202
    cases = {
        "Bearer": "Authorization must be",
        "Basic dXNlcjpwYXNz": "Authorization must be",
        "Bearer not-a-key": "Malformed API key",
        "Bearer mgk_" + "x" * 43: "Unknown API key",
    }
    for header, detail in cases.items():
        for method, path in (("GET", "/api/jobs"), ("POST", "/api/generate")):
            r = client.open(path, method=method, headers={"Authorization": header},
                            json={"prompt": "x"})
            assert r.status_code == 401, (header, path)
            assert detail in r.get_json()["detail"]
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
            assert "Set-Cookie" not in r.headers
    listing = app.test_cli_runner().invoke(args=["keys", "list"]).output
    key_id = listing.splitlines()[1].split()[0]
    assert client.get("/api/jobs", headers=bearer(key)).status_code == 200
    app.test_cli_runner().invoke(args=["keys", "revoke", key_id])
    r = client.get("/api/jobs", headers=bearer(key))
    assert r.status_code == 401 and "revoked" in r.get_json()["detail"]
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_listing_with_a_cursor(app, no_worker):
    key = new_key(app)
    client = app.test_client()
    made = [_submit(client, key, prompt=f"p{n}").get_json()["job_id"] for n in range(7)]
    new_key(app, "other")
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/jobs", query_string=query, headers=bearer(key)).get_json()
        assert len(body["jobs"]) <= 3
        seen += [job["job_id"] for job in body["jobs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    assert client.get("/api/jobs", query_string={"cursor": "1.5~"}, headers=bearer(key)
                      ).status_code == 400
    assert client.get("/api/jobs", query_string={"limit": 101}, headers=bearer(key)
                      ).status_code == 400


def test_client_rate_and_cap_replace_the_session_ones(make_settings, no_worker):
    app = _app(make_settings, rate_limit_session="1/minute", rate_limit_ip="1/minute",
               max_active_jobs_per_session=1, max_active_jobs_per_ip=1)
    fast = new_key(app, "fast", "--rate", "3/minute", "--max-active", "10")
    client = app.test_client()
    answers = [_submit(client, fast) for _ in range(4)]
    assert [r.status_code for r in answers] == [202, 202, 202, 429]
    assert [r.headers["RateLimit-Remaining"] for r in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["RateLimit-Limit"] == answers[0].headers["X-RateLimit-Limit"] == "3"
    assert 0 < int(answers[0].headers["RateLimit-Reset"]) <= 60
    assert int(answers[0].headers["X-RateLimit-Reset"]) > time.time()
    r = _submit(client, fast)
    assert int(r.headers["Retry-After"]) >= 1 and "Rate limit" in r.get_json()["detail"]
    job_id = answers[0].get_json()["job_id"]
    # Reads: the status poll (its own script) and the other read routes.
    polls = [client.get(f"/api/jobs/{job_id}", headers=bearer(fast)) for _ in range(2)]
    listed = client.get("/api/jobs", headers=bearer(fast))
    remaining = [int(r.headers["RateLimit-Remaining"]) for r in (*polls, listed)]
    assert remaining[0] - 1 == remaining[1] and remaining[1] - 1 == remaining[2], remaining
    for ok in (*polls, listed):
        for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                     "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            assert name in ok.headers, name
    browser = app.test_client()
    browser.post("/api/generate", json={"prompt": "cookie"})
    assert not [h for h in browser.get("/api/jobs").headers.keys() if "RateLimit" in h]
    capped = new_key(app, "capped", "--max-active", "2")
    assert [_submit(client, capped).status_code for _ in range(2)] == [202, 202]
    r = _submit(client, capped)
    assert r.status_code == 429 and "this API client" in r.get_json()["detail"]
    assert "Retry-After" in r.headers


def test_operators_rotate_a_clients_webhook_secret(app):
    key = new_key(app, "acme")
    client = app.test_client()
    before = client.get("/api/webhooks/secret", headers=bearer(key)).get_json()
    rotated = app.test_cli_runner().invoke(args=["keys", "rotate-secret", "acme"])
    assert rotated.exit_code == 0
    after = client.get("/api/webhooks/secret", headers=bearer(key)).get_json()
    assert after["secret"] == rotated.output.strip().splitlines()[-1] != before["secret"]
    assert after["previous"] == before["secret"]
    missing = app.test_cli_runner().invoke(args=["keys", "rotate-secret", "nobody"])
    assert missing.exit_code != 0 and "no client" in missing.output
