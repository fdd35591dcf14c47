"""Live events: 1,000 open SSE streams on one API process; fan-out latency.

One gunicorn worker (gevent, as in production) serves GET
/api/jobs/{id}/events to 1,000 clients at once, all on one started job (a
session's real cookie; stream caps lifted by the bench settings). The clients
are non-blocking sockets in this process, read by one selector loop.

* memory: the worker's RSS with every stream open (peak, sampled) against its
  RSS after one stream's warm-up: < 50 MB extra;
* latency: the job's progress is set N times, then it finishes (JobStore, as
  a worker would); for each transition, the time from the publish until each
  client has received its event: p99 over every client and transition,
  <= 50 ms. Baseline: the same for a single stream. Each client's time is
  taken as its socket is read, so a slow client loop shows in the figure: the
  loop's own CPU per transition is printed beside it (it shares the machine's
  cores with the server).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from urllib.parse import urlsplit

import psutil
import requests

from bench import common

STREAMS = 1000
RSS_GOAL_MB = 50.0
LATENCY_GOAL_MS = 50.0


def _open(url: str, path: str, cookie: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nCookie: {cookie}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    sock.setblocking(False)
    return sock


class _Clients:
    """Sockets read by one selector loop; records when each sees a marker."""

    def __init__(self, socks: list[socket.socket]) -> None:
        self.sel = selectors.DefaultSelector()
        self.buffers = {}
        for s in socks:
            self.sel.register(s, selectors.EVENT_READ)
            self.buffers[s] = b""
        self.socks = socks

    def wait_all(self, marker: bytes, timeout: float) -> list[float]:
        """perf_counter time at which each socket's buffer first holds `marker`."""
        seen: dict[socket.socket, float] = {}
        for s in self.socks:  # already there from an earlier read
            if marker in self.buffers[s]:
                seen[s] = time.perf_counter()
        deadline = time.monotonic() + timeout
        while len(seen) < len(self.socks) and time.monotonic() < deadline:
            for key, _ in self.sel.select(timeout=0.5):
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                if not data:
                    self.sel.unregister(s)
                    continue
                self.buffers[s] = (self.buffers[s] + data)[-4096:]
                if s not in seen and marker in self.buffers[s]:
                    seen[s] = time.perf_counter()
        if len(seen) < len(self.socks):
            raise RuntimeError(f"{len(self.socks) - len(seen)} streams never got {marker!r}")
        return list(seen.values())

    def close(self) -> None:
        for s in self.socks:
            s.close()
        self.sel.close()


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1e6


def _peak(pid: int, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        out.append(_rss_mb(pid))
        time.sleep(0.02)


def _transitions(jobs, job_id: str, clients: _Clients, steps: int) -> list[float]:
    latencies = []
    for step in range(1, steps + 1):
        time.sleep(0.05)
        began = time.perf_counter()
        jobs.set_progress(job_id, step)
        marker = f'"progress":{step}}}'.encode()
        latencies += [(t - began) * 1000 for t in clients.wait_all(marker, 30)]
    began = time.perf_counter()
    jobs.finish(job_id, audio_key=f"audio/{job_id}.wav", size_bytes=1, peaks=[0] * 300)
    latencies += [(t - began) * 1000 for t in clients.wait_all(b"event: finished", 30)]
    return latencies


def _stream_job(server, jobs) -> tuple[str, str, str]:
    s = requests.Session()
    r = s.post(f"{server.url}/api/generate", json={"prompt": "bench: events", "duration": 30},
               timeout=10)
    r.raise_for_status()
    job_id = r.json()["job_id"]
    assert jobs.start(job_id, 3)[0] == "started"
    return job_id, f"/api/jobs/{job_id}/events", f"session_id={s.cookies['session_id']}"


def run(quick: bool = False) -> list[dict]:
    from tasks.config.services import job_store

    n = 200 if quick else STREAMS
    steps = 5 if quick else 20
    common.flush()
    jobs = job_store()
    with common.api(workers=1) as server:
        (worker_pid,) = [c.pid for c in psutil.Process(server.proc.pid).children()]
        # Baseline: one stream, same transitions.
        job_id, path, cookie = _stream_job(server, jobs)
        one = _Clients([_open(server.url, path, cookie)])
        one.wait_all(b"event: started", 10)
        single = _transitions(jobs, job_id, one, steps)
        one.close()
        time.sleep(0.5)
        job_id, path, cookie = _stream_job(server, jobs)
        before = _rss_mb(worker_pid)
        samples: list[float] = []
        stop = threading.Event()
        sampler = threading.Thread(target=_peak, args=(worker_pid, stop, samples), daemon=True)
        sampler.start()
        socks = []
        for i in range(n):
            socks.append(_open(server.url, path, cookie))
            if i % 100 == 99:
                time.sleep(0.05)  # a burst, not a SYN flood past the listen backlog
        many = _Clients(socks)
        many.wait_all(b"event: started", 60)
        open_streams = n
        cpu = psutil.Process(worker_pid).cpu_times()
        client_began = time.thread_time()
        latencies = _transitions(jobs, job_id, many, steps)
        client_ms = (time.thread_time() - client_began) * 1000 / (steps + 1)
        after = psutil.Process(worker_pid).cpu_times()
        cpu_us = ((after.user + after.system - cpu.user - cpu.system) * 1e6
                  / (n * (steps + 1)))
        stop.set()
        sampler.join()
        many.close()
    common.flush()
    extra = max(samples) - before
    p99, base99 = common.pct(latencies, 99), common.pct(single, 99)
    return [
        common.row(f"events_rss_extra ({open_streams} open streams, 1 process)", extra, "MB",
                   None, f"< {RSS_GOAL_MB:g} MB (before: {before:.0f} MB)",
                   extra < RSS_GOAL_MB),
        common.row(f"events_fanout_p99 ({open_streams} streams x {steps + 1} transitions)",
                   p99, "ms", base99,
                   f"<= {LATENCY_GOAL_MS:g} ms (baseline: 1 stream; p50 "
                   f"{common.pct(latencies, 50):.1f} ms)", p99 <= LATENCY_GOAL_MS),
        common.row("events_server_cpu_per_delivered_event", cpu_us, "us", None,
                   "info: the API process's CPU per event per stream", None),
        common.row(f"events_client_cpu_per_transition ({open_streams} sockets)", client_ms,
                   "ms", None, "info: the bench's own reading loop (1 thread)", None),
    ]


if __name__ == "__main__":
    import sys

    from bench.table import main

    sys.exit(main(run, __doc__.splitlines()[0], "200 streams, 5 transitions"))
