"""GET /api/audio/{id}: streamed WAV with byte ranges."""

from __future__ import annotations

import io
import socket
import wave
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from tests.conftest import wait_status
from tests.support.services import wait_for

WAV_BYTES = 44 + 30 * 48000 * 4


@pytest.fixture
def finished(client, worker):
    r = client.post("/api/generate", json={"prompt": "lo-fi beat", "duration": 30})
    job_id = r.get_json()["job_id"]
    assert wait_status(client, job_id)["status"] == "finished"
    return job_id


def test_whole_file(client, finished):
    r = client.get(f"/api/audio/{finished}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "audio/wav"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Disposition"] == f'attachment; filename="music_{finished}.wav"'
    assert int(r.headers["Content-Length"]) == WAV_BYTES == len(r.data)
    with wave.open(io.BytesIO(r.data)) as w:
        assert w.getparams()[:4] == (2, 2, 48000, 30 * 48000)
        frames = w.readframes(48000)
    assert any(frames)  # not silence


def test_byte_ranges(client, finished):
    whole = client.get(f"/api/audio/{finished}").data
    cases = {
        "bytes=0-43": (0, 44),
        "bytes=1000-1999": (1000, 2000),
        "bytes=-100": (WAV_BYTES - 100, WAV_BYTES),
        f"bytes={WAV_BYTES - 10}-": (WAV_BYTES - 10, WAV_BYTES),
        f"bytes=5-{WAV_BYTES + 500}": (5, WAV_BYTES),
    }
    for header, (start, end) in cases.items():
        r = client.get(f"/api/audio/{finished}", headers={"Range": header})
        assert r.status_code == 206, header
        assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{WAV_BYTES}"
        assert int(r.headers["Content-Length"]) == end - start
        assert r.data == whole[start:end]
    assert whole[:4] == b"RIFF" and whole[8:12] == b"WAVE"


def test_unsatisfiable_range_is_416(client, finished):
    r = client.get(f"/api/audio/{finished}", headers={"Range": f"bytes={WAV_BYTES}-"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{WAV_BYTES}"
    assert "not satisfiable" in r.get_json()["detail"]


def test_multi_range_or_garbage_gets_the_whole_file(client, finished):
    for header in ("bytes=0-1,5-9", "pages=1-2", "bytes=abc"):
        r = client.get(f"/api/audio/{finished}", headers={"Range": header})
        assert r.status_code == 200 and len(r.data) == WAV_BYTES, header


def test_not_finished_is_404_saying_so(client, no_worker):
    job_id = client.post("/api/generate", json={"prompt": "x"}).get_json()["job_id"]
    r = client.get(f"/api/audio/{job_id}")
    assert r.status_code == 404
    assert r.get_json() == {"detail": "Audio not ready: the job is queued"}


def test_missing_object_is_404(client, finished, storage_root):
    (storage_root / "audio" / f"{finished}.wav").unlink()
    r = client.get(f"/api/audio/{finished}")
    assert r.status_code == 404 and "missing" in r.get_json()["detail"]


def test_suffix_longer_than_the_file_selects_all_of_it(client, finished):
    r = client.get(f"/api/audio/{finished}", headers={"Range": f"bytes=-{WAV_BYTES * 10}"})
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes 0-{WAV_BYTES - 1}/{WAV_BYTES}"
    assert len(r.data) == WAV_BYTES and r.data[:4] == b"RIFF"


def test_etag_and_if_range(client, finished, storage_root):
    whole = client.get(f"/api/audio/{finished}")
    etag = whole.headers["ETag"]
    assert etag.startswith('"') and whole.headers["Last-Modified"]
    same = client.get(f"/api/audio/{finished}", headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.data == whole.data[:10]
    assert same.headers["ETag"] == etag
    for stale in ('"0-0"', "W/" + etag, "Mon, 01 Jan 2001 00:00:00 GMT"):
        r = client.get(f"/api/audio/{finished}", headers={"Range": "bytes=0-9", "If-Range": stale})
        assert r.status_code == 200 and len(r.data) == WAV_BYTES, stale
    dated = client.get(f"/api/audio/{finished}", headers={
        "Range": "bytes=0-9", "If-Range": whole.headers["Last-Modified"]})
    assert dated.status_code == 206
    # A re-run rewrites the same key: the tag changes, and an old If-Range gets it all.
    path = storage_root / "audio" / f"{finished}.wav"
    path.write_bytes(path.read_bytes()[:-4])
    rerun = client.get(f"/api/audio/{finished}", headers={"Range": "bytes=0-9", "If-Range": etag})
    assert rerun.status_code == 200 and rerun.headers["ETag"] != etag


# --- under gunicorn (gevent), where a file leaves by sendfile() ------------------------------

BIG = bytes(range(256)) * (48 * 4096)  # 48 MiB: more than both sockets' buffers hold


@pytest.fixture
def big_download(live_api, no_worker, jobs, storage_root):
    """A finished job of the live server whose stored file is BIG: URL, session, file."""
    session = requests.Session()
    r = session.post(f"{live_api.url}/api/generate", json={"prompt": "long", "duration": 120})
    job_id = r.json()["job_id"]
    path = storage_root / "audio" / f"{job_id}.wav"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(BIG)
    jobs.start(job_id, 3)
    jobs.finish(job_id, audio_key=f"audio/{job_id}.wav")
    return f"{live_api.url}/api/audio/{job_id}", session, path


def test_gunicorn_sends_the_exact_bytes_and_ranges(big_download):
    url, session, _ = big_download
    whole = session.get(url, timeout=30)
    assert whole.status_code == 200
    assert int(whole.headers["Content-Length"]) == len(BIG) and whole.content == BIG
    for start, end in [(0, 44), (1000, 9_000_123), (len(BIG) - 7, len(BIG))]:
        r = session.get(url, headers={"Range": f"bytes={start}-{end - 1}"}, timeout=30)
        assert r.status_code == 206
        assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(BIG)}"
        assert int(r.headers["Content-Length"]) == end - start and r.content == BIG[start:end]
    head = session.head(url, timeout=30)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(BIG))
    assert not head.content


def _open_by_server(server, path) -> bool:
    root = psutil.Process(server.proc.pid)
    return any(f.path == str(path) for p in [root, *root.children()] for f in p.open_files())


def test_a_client_gone_mid_download_releases_the_file(big_download, live_api):
    url, session, path = big_download
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the server must wait on us
    sock.connect(("127.0.0.1", live_api.port))
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    sock.sendall(f"GET {urlsplit(url).path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n"
                 .encode())
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    wait_for(lambda: _open_by_server(live_api, path), timeout=10, what="the download to start")
    sock.close()
    wait_for(lambda: not _open_by_server(live_api, path), timeout=10,
             what="the server to close the file")
