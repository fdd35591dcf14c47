"""Audio streaming: GET /api/audio/{id} of a 120 s WAV, one API process, 8 clients.

A 120 s 48 kHz stereo 16-bit WAV (23.04 MB) is stored as a finished job's
audio, owned by a real API session, and served by gunicorn with ONE gevent
worker (figures are per API process). For each backend (file:// and S3
through a moto ThreadedMotoServer on loopback):

* figure: 8 clients download it through /api/audio/{id} at once (session
  cookie), total MB/s over the wall time, best of N; held to a floor per
  process: 1 GB/s from file storage (above a 5 GbE link), 600 MB/s from S3.
  Baseline: the same 8 clients reading the object straight from storage
  (`curl file:///...`, or `curl` of the object's URL on the S3 endpoint: moto
  does not check signatures). A ratio to a page-cache read is no goal: no
  HTTP server reaches a memory copy's speed, and it hid the absolute figure;
* one client: MB/s through the API vs one direct read (info);
* CPU per MB (info): the gunicorn processes' CPU seconds over the 8-client
  runs per MB served (holds still where MB/s moves with the machine's load);
  for S3 also moto's own CPU per MB (this process, where ThreadedMotoServer
  runs) serving the API against serving the direct clients; and the
  clients' own CPU per MB (curl shares the machine's cores with the server;
  0 without curl, whose Python stand-in runs in this process);

With no `curl` on PATH both sides use a Python client (http.client/open,
readinto a reused buffer).
* memory: the API's peak RSS growth (sum over gunicorn master + worker,
  sampled every 10 ms) while 8 clients stream the file at once, against the
  RSS after a warm-up download.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import psutil
import requests

from bench import common

# Floors per API process, all CLIENTS together: file storage above a 5 GbE
# link; S3 (moto on loopback) at what one process should pass on from it.
FLOOR_MB_S = {"file": 1000.0, "s3": 600.0}
RSS_GOAL_MB = 10.0
CLIENTS = 8
MB = 1e6


def _make_wav(path: Path) -> int:
    from inference.wav import write_wav

    rng = np.random.default_rng(0)
    write_wav(path, rng.standard_normal((120 * 48_000, 2), dtype=np.float32) * 0.05)
    return path.stat().st_size


def _curl(url: str, cookie: str | None = None) -> float:
    """Seconds curl needs to fetch url to /dev/null (raises on any HTTP error)."""
    out = subprocess.run(
        ["curl", "-sf", "-o", "/dev/null", "-w", "%{time_total}",
         *(["-b", cookie] if cookie else []), url],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    return float(out)


def _python_get(url: str, cookie: str | None = None) -> float:
    buf = bytearray(256 * 1024)
    began = time.perf_counter()
    parts = urlsplit(url)
    if parts.scheme == "file":
        with open(unquote(parts.path), "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
        return time.perf_counter() - began
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", parts.path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {url}: {response.status}")
    while response.readinto(buf):
        pass
    conn.close()
    return time.perf_counter() - began


def _fetch(url: str, cookie: str | None = None) -> float:
    return (_curl if shutil.which("curl") else _python_get)(url, cookie)


def _drain(url: str, cookies) -> int:
    got = 0
    with requests.get(url, cookies=cookies, stream=True, timeout=60) as r:
        r.raise_for_status()
        for chunk in r.iter_content(256 * 1024):
            got += len(chunk)
    return got


def _rss(pid: int) -> int:
    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def _cpu(pid: int | None = None) -> float:
    """CPU seconds (user + system) used so far by a process tree (this process alone if None)."""
    if pid is None:
        times = psutil.Process().cpu_times()
        return times.user + times.system
    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the curl clients)."""
    times = os.times()
    return times.children_user + times.children_system


def _peak_rss_growth(server, url: str, cookies, size: int) -> float:
    _drain(url, cookies)  # warm-up: buffers, connections, imports
    time.sleep(0.2)
    before = _rss(server.proc.pid)
    peak = before
    errors: list[str] = []

    def client() -> None:
        try:
            if _drain(url, cookies) != size:
                errors.append("short read")
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, _rss(server.proc.pid))
        time.sleep(0.01)
    if errors:
        raise RuntimeError(f"concurrent downloads failed: {errors[:3]}")
    return (peak - before) / 2**20


def _one_backend(label: str, repeats: int, storage_url: str, direct_url, **overrides: str
                 ) -> list[dict]:
    from storage import audio_key, open_storage
    from tasks.config.services import job_store
    from tasks.config.settings import get_settings

    storage = open_storage(storage_url, endpoint_url=overrides.get("S3_ENDPOINT_URL"))
    jobs = job_store(get_settings())
    with common.api(workers=1, STORAGE_URL=storage_url, **overrides) as server:
        session = requests.Session()
        r = session.post(f"{server.url}/api/generate", json={"prompt": "bench", "duration": 120},
                         timeout=10)
        r.raise_for_status()
        job_id = r.json()["job_id"]
        key = audio_key(job_id)
        with tempfile.TemporaryDirectory(dir=common.SCRATCH) as tmp:
            wav = Path(tmp) / "bench.wav"
            size = _make_wav(wav)
            storage.put_file(key, wav)
        jobs.start(job_id, 3)
        jobs.finish(job_id, audio_key=key)
        url = f"{server.url}/api/audio/{job_id}"
        cookies = session.cookies
        cookie = f"session_id={cookies['session_id']}"
        assert _drain(url, cookies) == size  # the API serves every byte
        raw = direct_url(key)
        _fetch(raw)
        base = size / MB / min(_fetch(raw) for _ in range(repeats))
        speed = size / MB / min(_fetch(url, cookie) for _ in range(repeats))
        served = repeats * CLIENTS * size / MB
        api_cpu, own_cpu, clients_cpu = _cpu(server.proc.pid), _cpu(), _children_cpu()
        together = max(_concurrent(url, cookie, size) for _ in range(repeats))
        api_cpu, own_cpu = _cpu(server.proc.pid) - api_cpu, _cpu() - own_cpu
        clients_cpu = _children_cpu() - clients_cpu
        direct_cpu, direct_clients_cpu = _cpu(), _children_cpu()
        together_base = max(_concurrent(raw, None, size) for _ in range(repeats))
        direct_cpu, direct_clients_cpu = _cpu() - direct_cpu, _children_cpu() - direct_clients_cpu
        growth = _peak_rss_growth(server, url, cookies, size)
        storage.delete(key)
    floor = FLOOR_MB_S[label]
    return [
        common.row(f"audio_stream_{label} ({size / MB:.1f} MB, {CLIENTS} clients, 1 process)",
                   together, "MB/s", together_base,
                   f">= {floor:g} MB/s in all (baseline: the same clients reading storage "
                   "directly)", together >= floor),
        common.row(f"audio_stream_{label}_one_client", speed, "MB/s", base,
                   "info (baseline: one direct storage read)", None),
        common.row(f"audio_cpu_per_mb_{label} (gunicorn, {CLIENTS} clients)",
                   api_cpu * 1e3 / served, "ms/MB", None, "info", None),
        common.row(f"audio_clients_cpu_per_mb_{label} (the {CLIENTS} curls, via the API vs "
                   "direct)", clients_cpu * 1e3 / served, "ms/MB",
                   direct_clients_cpu * 1e3 / served, "info", None),
        *([common.row("audio_moto_cpu_per_mb_s3 (serving the API vs the direct clients)",
                      own_cpu * 1e3 / served, "ms/MB", direct_cpu * 1e3 / served, "info",
                      None)] if label == "s3" else []),
        common.row(f"audio_rss_growth_{label} ({CLIENTS} clients)", growth, "MB", None,
                   f"< {RSS_GOAL_MB:g} MB", growth < RSS_GOAL_MB),
    ]


def _concurrent(url: str, cookie: str | None, size: int) -> float:
    """MB/s of CLIENTS clients each fetching the whole file at once (bytes over wall time)."""
    times: list[float] = []
    errors: list[str] = []

    def client() -> None:
        try:
            times.append(_fetch(url, cookie))
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"concurrent downloads failed: {errors[:3]}")
    return CLIENTS * size / MB / wall


@contextlib.contextmanager
def _moto():
    from moto.server import ThreadedMotoServer

    creds = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
             "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in creds}
    os.environ.update(creds)
    port = common.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        import boto3

        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench-audio")
        yield endpoint, creds
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run(quick: bool = False) -> list[dict]:
    repeats = 2 if quick else 4
    common.flush()
    root = common.SCRATCH / "audio"
    rows = _one_backend("file", repeats, root.as_uri(), lambda key: (root / key).as_uri())
    with _moto() as (endpoint, creds):
        rows += _one_backend("s3", repeats, "s3://bench-audio/bench",
                             lambda key: f"{endpoint}/bench-audio/bench/{key}",
                             S3_ENDPOINT_URL=endpoint, **creds)
    common.flush()
    return rows
