"""What checks.py drives the deployment with: docker, compose, curl, S3.

Every address used is loopback (the published ports) or a container's on the
project's own bridge network.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import boto3

PROJECT_LABEL = "com.docker.compose.project"


def read_env(path: str = ".env") -> dict[str, str]:
    values = {}
    for line in Path(path).read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


ENV = read_env()
API = f"http://127.0.0.1:{ENV['API_PORT']}"
FLOWER = f"http://127.0.0.1:{ENV['FLOWER_PORT']}"
DOCKER = os.environ.get("DOCKER", "docker")
WORK = os.environ.get("DRILL_WORK", "/tmp/compose-drill")
COMPOSE = shlex.split(os.environ["COMPOSE_CMD"])
PROJECT = COMPOSE[COMPOSE.index("-p") + 1]


class DrillError(AssertionError):
    pass


def check(condition, message: str) -> None:
    if not condition:
        raise DrillError(message)


def sh(*cmd: str, check_rc: bool = True) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and done.returncode:
        raise DrillError(f"{shlex.join(cmd)} -> {done.returncode}: {done.stderr.strip()[-800:]}")
    return done.stdout


def docker(*args: str, check_rc: bool = True) -> str:
    return sh(DOCKER, *args, check_rc=check_rc)


def compose(*args: str) -> str:
    return sh(*COMPOSE, *args)


def timed(what: str, fn, *args):
    start = time.monotonic()
    result = fn(*args)
    print(f"   {what}: {time.monotonic() - start:.1f} s")
    return result


def wait_for(what: str, probe, timeout: float, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DrillError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def run_steps(steps) -> int:
    """Each (title, step) in turn, timed; the first DrillError ends the run (rc 1)."""
    os.makedirs(WORK, exist_ok=True)
    for title, step in steps:
        print(f"-- {title}", flush=True)
        start = time.monotonic()
        try:
            step()
        except DrillError as e:
            print(f"FAILED: {title}: {e}", file=sys.stderr)
            return 1
        print(f"   ({time.monotonic() - start:.0f} s)", flush=True)
    return 0


# --- containers ----------------------------------------------------------------
def project_objects(kind: str) -> list[str]:
    """Ids of the project's containers (all states), volumes or networks."""
    flt = f"label={PROJECT_LABEL}={PROJECT}"
    if kind == "container":
        out = docker("ps", "-aq", "--filter", flt)
    else:
        out = docker(kind, "ls", "-q", "--filter", flt)
    return out.split()


def services() -> dict[str, str]:
    """Running service name -> container id."""
    out = docker("ps", "-q", "--filter", f"label={PROJECT_LABEL}={PROJECT}")
    found = {}
    for cid in out.split():
        found[inspect(cid)["Config"]["Labels"]["com.docker.compose.service"]] = cid
    return found


def inspect(obj: str) -> dict:
    return json.loads(docker("inspect", obj))[0]


def container_ip(cid: str) -> str:
    networks = inspect(cid)["NetworkSettings"]["Networks"]
    return next(iter(networks.values()))["IPAddress"]


def logs(service: str) -> str:
    return compose("logs", "--no-color", service)


# --- HTTP as the guide does it: curl with a cookie jar ----------------------------
def curl(*args: str) -> tuple[int, str]:
    out = sh("curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", *args)
    body, _, code = out.rpartition("\n")
    return int(code), body


def http_code(url: str, *args: str) -> int:
    done = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "5", "-w",
                           "%{http_code}", *args, url], capture_output=True, text=True)
    return int(done.stdout or 0)


class Operator:
    """One API user: a curl cookie jar, like the guide's cookies.txt."""

    def __init__(self, jar: str) -> None:
        self.jar = jar
        Path(jar).unlink(missing_ok=True)

    def submit(self, prompt: str, duration: int = 30, genre: str | None = None,
               **fields) -> str:
        body = {"prompt": prompt, "duration": duration, **({"genre": genre} if genre else {}),
                **fields}
        code, text = curl("-X", "POST", f"{API}/api/generate", "-H",
                          "Content-Type: application/json", "-c", self.jar, "-b", self.jar,
                          "-d", json.dumps(body))
        check(code == 202, f"POST /api/generate -> {code} {text}")
        return json.loads(text)["job_id"]

    def job(self, job_id: str) -> dict:
        code, text = curl(f"{API}/api/jobs/{job_id}", "-b", self.jar)
        return json.loads(text) if code == 200 else {"status": f"http {code}"}

    def wait_finished(self, job_id: str, timeout: float) -> dict:
        def finished():
            job = self.job(job_id)
            check(job["status"] != "failed", f"job {job_id} failed: {job.get('error')}")
            return job if job["status"] == "finished" else None
        return wait_for(f"job {job_id} to finish", finished, timeout)

    def download(self, job_id: str, path: str, content_type: str = "audio/wav") -> str:
        out = sh("curl", "-sS", f"{API}/api/audio/{job_id}", "-b", self.jar, "-o", path,
                 "-w", "%{http_code} %{content_type}")
        check(out.startswith(f"200 {content_type}"), f"GET /api/audio/{job_id} -> {out}")
        return path

    def cookie_header(self) -> str:
        pairs = []
        for line in Path(self.jar).read_text().splitlines():
            fields = line.removeprefix("#HttpOnly_").split("\t")
            if len(fields) == 7:
                pairs.append(f"{fields[5]}={fields[6]}")
        return "; ".join(pairs)


# --- S3 (the moto stand-in, on the project network) ---------------------------------
def bucket_keys() -> list[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{container_ip(services()['minio'])}:9000",
        aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=ENV.get("S3_BUCKET", "music-audio"))
    return [item["Key"] for page in pages for item in page.get("Contents", [])]
