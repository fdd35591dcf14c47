"""Drill: abuse of identity, ownership and storage keys."""

from __future__ import annotations

import pytest

from storage import audio_key, check_key
from tests.conftest import wait_status


def _session_cookie(response) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("session_id="):
            return header.split(";")[0].split("=", 1)[1]
    return None


@pytest.fixture
def finished_job(client, worker) -> str:
    r = client.post("/api/generate", json={"prompt": "drill: owned", "duration": 30})
    job_id = r.get_json()["job_id"]
    assert wait_status(client, job_id)["status"] == "finished"
    return job_id


def test_rotating_cookies_cannot_exceed_the_per_ip_limit(make_settings, no_worker):
    from web import create_app

    app = create_app(make_settings(rate_limit_ip="3/minute"))
    codes = []
    for _ in range(6):
        fresh = app.test_client()  # a new cookie jar: a new session every time
        r = fresh.post("/api/generate", json={"prompt": "drill: rotate"})
        codes.append(r.status_code)
    assert codes == [202, 202, 202, 429, 429, 429]
    assert "Rate limit exceeded" in r.get_json()["detail"]


def test_forged_session_id_gets_a_fresh_session_and_no_access(app, finished_job):
    forger = app.test_client()
    forger.set_cookie("session_id", "forged-" + "A" * 30)
    r = forger.get(f"/api/jobs/{finished_job}")
    assert r.status_code == 403
    assert _session_cookie(r) is None  # reads never issue a session
    r = forger.post("/api/generate", json={"prompt": "drill: mine"})
    issued = _session_cookie(r)
    assert issued and issued != "forged-" + "A" * 30
    assert forger.get("/api/jobs").get_json()["total"] == 1  # only its own job


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/jobs/{id}"),
    ("DELETE", "/api/jobs/{id}"),
    ("GET", "/api/audio/{id}"),
    ("GET", "/api/jobs/{id}/events"),
])
def test_another_session_is_refused_everywhere(app, client, finished_job, method, path):
    other = app.test_client()
    other.get("/")  # the page gives it a session of its own
    r = other.open(path.format(id=finished_job), method=method)
    assert r.status_code == 403
    assert r.get_json() == {"detail": "This job belongs to another session"}
    assert finished_job not in str(other.get("/api/jobs").get_json())
    # the owner still has it, untouched
    assert client.get(f"/api/jobs/{finished_job}").get_json()["status"] == "finished"
    assert client.get(f"/api/audio/{finished_job}").status_code == 200


def test_another_session_cannot_cancel_a_queued_job(app, client, jobs, no_worker):
    job_id = client.post("/api/generate", json={"prompt": "drill: queued"}).get_json()["job_id"]
    other = app.test_client()
    assert other.delete(f"/api/jobs/{job_id}").status_code == 403
    assert jobs.get(job_id)["status"] == "queued"


TRAVERSALS = [
    "/api/audio/..%2F..%2Fetc%2Fpasswd",
    "/api/audio/..%2f..%2fetc%2fpasswd",
    "/api/audio/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/audio/..%252F..%252Fetc%252Fpasswd",
    "/api/audio/../../etc/passwd",
    "/api/audio/..",
    "/api/audio/%2e%2e",
    "/api/audio/..%5C..%5Cetc%5Cpasswd",
    "/api/audio/abc%00def12345",
    "/api/audio/abcdefgh%0A",
    "/api/jobs/abcdefgh%0A",
    "/api/audio/abcdefgh.wav",
    "/api/audio/audio%2Fabcdefgh",
    "/api/audio/" + "a" * 65,
    "/api/audio/" + "a" * 5000,
    "/api/jobs/..%2F..%2Fetc%2Fpasswd",
    "/api/jobs/" + "a" * 65,
    "/api/jobs/..%2Fjob/events",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_request_reaches_outside_audio(client, path):
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code, r.data[:200])
    assert r.is_json and set(r.get_json()) == {"detail"}
    assert b"root:" not in r.data


@pytest.mark.parametrize("bad", [
    "../etc/passwd", "../../etc/passwd", "a/b", "a\\b", "..", "", "a" * 65, "abc.wav",
    "abc\x00def", "abc def", "%2e%2e", "abcdefgh\n",
])
def test_storage_keys_refuse_anything_outside_audio(bad):
    with pytest.raises(ValueError):
        audio_key(bad)
    with pytest.raises(ValueError):
        check_key(bad)


@pytest.mark.parametrize("key", [
    "audio/../etc/passwd.wav", "audio/x/../../y.wav", "/etc/passwd", "etc/audio/x.wav",
    "audio/x.wav/..", "audio/x.ogg", "audio/x.mp3.exe", "audio/.wav", "audio/x.wav\n",
])
def test_check_key_refuses_crafted_keys(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_job_ids_with_a_trailing_newline_are_refused():
    from tasks.jobs.store import JOB_ID_RE

    assert JOB_ID_RE.match("abcdefgh") and not JOB_ID_RE.match("abcdefgh\n")


def test_file_storage_refuses_crafted_keys(storage_root):
    from storage.filesystem import FileStorage

    store = FileStorage(storage_root)
    for key in ("audio/../../etc/passwd", "../x.wav", "audio/x.wav/../../y.wav"):
        with pytest.raises(ValueError):
            store.stat(key)
        with pytest.raises(ValueError):
            store.iter_range(key)
