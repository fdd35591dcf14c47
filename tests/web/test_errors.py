"""Every error answers JSON {"detail": ...}, Flask's own included."""

from __future__ import annotations

import pytest


def test_404_405_are_json(client):
    r = client.get("/no/such/route")
    assert r.status_code == 404 and r.get_json() == {"detail": "Not found"}
    r = client.get("/api/generate")
    assert r.status_code == 405 and r.get_json() == {"detail": "Method not allowed"}
    assert "POST" in r.headers["Allow"]


def test_unexpected_exception_is_a_json_500_without_traceback(app, client, monkeypatch):
    from web.poll import JobPoll  # the status route's lookup (limit + record)

    def boom(self, job_id, **_):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(JobPoll, "get", boom)
    r = client.get("/api/jobs/abcdefgh1234")
    assert r.status_code == 500
    assert r.get_json() == {"detail": "Internal server error"}
    assert b"secret" not in r.data


@pytest.mark.parametrize("exc_name", ["ConnectionError", "TimeoutError"])
def test_redis_outage_is_503(client, monkeypatch, exc_name):
    import redis

    from web.poll import JobPoll

    def down(self, job_id, **_):
        raise getattr(redis, exc_name)("redis down")

    monkeypatch.setattr(JobPoll, "get", down)
    r = client.get("/api/jobs/abcdefgh1234")
    assert r.status_code == 503
    assert "unavailable" in r.get_json()["detail"]
