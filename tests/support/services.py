"""Real processes for tests: a Celery worker and a gunicorn API on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Worker:
    """A real `celery -A tasks worker` process (prefork, one child)."""

    def __init__(self, env: dict, name: str, log_path: Path, queues: str = "music,maintenance",
                 concurrency: int = 1, extra_args: tuple[str, ...] = ()):
        self.env = env
        self.concurrency = concurrency
        self.extra_args = tuple(extra_args)
        self.name = name
        self.hostname = f"{name}@{socket.gethostname()}"
        self.log_path = log_path
        self.queues = queues
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> Worker:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "tasks", "worker", "-Q", self.queues,
             "-c", str(self.concurrency), "-n", f"{self.name}@%h", "-E", "--loglevel=INFO",
             "--without-mingle", "--without-gossip", *self.extra_args],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            wait_for(self.ready, timeout=60, what=f"worker {self.name} ready")
        return self

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.output()}")
        return b" ready." in self.log_path.read_bytes()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pool_children(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children()

    def kill_child(self) -> int:
        child = self.pool_children()[0]
        os.kill(child.pid, signal.SIGKILL)
        return child.pid

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()


class ApiServer:
    """gunicorn serving `web:create_app()` (or another app) on a free loopback port."""

    def __init__(self, env: dict, log_path: Path, workers: int = 2,
                 app: str = "web:create_app()"):
        self.app = app
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), self.app, "-c", "gunicorn.conf.py",
             "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._answers, timeout=30, what="gunicorn to answer")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(self.log_path.read_text(errors="replace"))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def stop_process(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds: a test's helper process never outlives it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run_python(*args: str, timeout: float = 120, check: bool = False, env: dict | None = None,
               cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python ARGS...` with this interpreter, from the repository root by default."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=check)


class PrivateRedis:
    """A redis-server of the test's own on a free port, AOF on so a restart keeps its data."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.dir = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        import shutil

        import pytest

        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server binary not found")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self.up, timeout=10, what="private redis up")
        return self

    def up(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis flushes the AOF and exits
            self.proc.wait(10)
