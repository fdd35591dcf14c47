"""The compose drill's Sentinel variant (`make compose-drill SENTINEL=1`): the
checks drill.sh runs once the app roles are up against the state profile
(primary, 2 replicas, 3 sentinels) instead of the single Redis. It ends with
the stack down.

1. every client goes through the sentinels: the single `redis` service is not
   running, the sentinels name the primary, which has its two replicas; ready;
2. a job rendered by the worker image's embedded composer (checks.py's step);
3. the primary container `docker kill`ed with jobs queued and running: the API
   answers 503 (never another error), then 200 by itself; a replica is
   promoted; every job accepted before, during and after finishes exactly once
   (one successful run, one object); no container restarted;
4. the old primary started again rejoins as a replica;
5. down -v leaves nothing of the project.
"""

from __future__ import annotations

import json
import re
import sys
import time

from checks import Poller, composer_job, quiet_logs, wait_ready
from drillkit import (
    API,
    ENV,
    WORK,
    DrillError,
    Operator,
    bucket_keys,
    check,
    compose,
    curl,
    docker,
    http_code,
    inspect,
    logs,
    project_objects,
    run_steps,
    services,
    timed,
    wait_for,
)

STATE_HOST = ENV["STATE_HOST"]
DATA_PORTS = {"redis-primary": 16379, "redis-replica-1": 16380, "redis-replica-2": 16381}
SENTINEL_PORTS = {"sentinel-1": 26479, "sentinel-2": 26480, "sentinel-3": 26481}
APP = ("api", "beat", "flower", "worker-cpu", "encoder", "maintenance", "webhooks")
accepted: list[tuple[Operator, str]] = []


def redis_cli(service: str, port: int, *args: str) -> list[str]:
    out = docker("exec", services()[service], "redis-cli", "-p", str(port), *args)
    return out.split()


def primary_port() -> int | None:
    """Where the sentinels (asked through sentinel-1) say the primary is."""
    try:
        host, port = redis_cli("sentinel-1", 26479, "sentinel", "get-master-addr-by-name",
                               "music")
    except (DrillError, ValueError):
        return None
    check(host == STATE_HOST, f"the sentinels name {host}, not STATE_HOST {STATE_HOST}")
    return int(port)


def role(service: str) -> str:
    try:
        return redis_cli(service, DATA_PORTS[service], "role")[0]
    except (DrillError, IndexError):
        return "down"


def through_the_sentinels() -> None:
    running = services()
    check("redis" not in running, "the single redis service is running")
    missing = [s for s in (*DATA_PORTS, *SENTINEL_PORTS, *APP) if s not in running]
    check(not missing, f"not running: {missing}")

    def two_replicas():
        info = " ".join(redis_cli("redis-primary", 16379, "info", "replication"))
        return primary_port() == 16379 and "connected_slaves:2" in info
    wait_for("the sentinels to name redis-primary, with 2 replicas", two_replicas, 60)
    for name, port in SENTINEL_PORTS.items():
        known = redis_cli(name, port, "sentinel", "sentinels", "music").count("name")
        check(known == 2, f"{name} knows {known} other sentinels, not 2")
    for name in APP:
        env = dict(e.split("=", 1) for e in inspect(running[name])["Config"]["Env"])
        check(env.get("REDIS_SENTINELS") == ENV["REDIS_SENTINELS"], f"{name} not on Sentinel")
    wait_ready()
    print(f"   primary {STATE_HOST}:16379 with 2 replicas, 3 sentinels (each knows the "
          f"other 2); {len(APP)} app services on REDIS_SENTINELS; no single redis; ready")


def runs_of(samples, code: int) -> list[float]:
    """Lengths (s) of the runs of consecutive answers with this code."""
    runs, first, last = [], None, None
    for start, got, took in samples:
        if got == code:
            first = start if first is None else first
            last = start + took
        elif first is not None:
            runs.append(last - first)
            first = None
    if first is not None:
        runs.append(last - first)
    return runs


def kill_the_primary() -> None:
    before = Operator(f"{WORK}/cookies-before.txt")
    jobs = [before.submit(f"Ambient pads across a failover, take {n}", 30, "ambient")
            for n in range(4)]
    accepted.extend((before, j) for j in jobs)
    started_at = {s: inspect(cid)["State"]["StartedAt"] for s, cid in services().items()
                  if s in APP}

    def one_running():
        return [before.job(j)["status"] for j in jobs].count("started") == 1
    wait_for("the first job to be running", one_running, 180, 0.3)
    statuses = [before.job(j)["status"] for j in jobs]
    poller = Poller(f"{API}/api/jobs/{jobs[-1]}", before.cookie_header())
    poller.start()
    during = Operator(f"{WORK}/cookies-during.txt")
    submits: list[int] = []
    try:
        time.sleep(1)
        primary = services()["redis-primary"]
        docker("kill", primary)
        killed = time.monotonic()
        wait_for("a 503 with the primary gone", lambda: poller.last_code() == 503, 30, 0.1)
        # A submit while no primary answers: 503 {"detail"}, nothing half-made.
        code, body = curl("-X", "POST", f"{API}/api/generate", "-H",
                          "Content-Type: application/json", "-c", during.jar, "-b", during.jar,
                          "-d", json.dumps({"prompt": "Submitted mid-failover", "duration": 30}))
        submits.append(code)
        if code == 202:
            accepted.append((during, json.loads(body)["job_id"]))
        else:
            check(code == 503 and "detail" in json.loads(body), f"submit -> {code} {body}")
        wait_for("200 after the failover", lambda: poller.last_code() == 200, 90, 0.1)
        healed = time.monotonic() - killed
        time.sleep(3)
    finally:
        poller.done.set()
        poller.join()
    new_port = primary_port()
    check(new_port in (16380, 16381), f"the sentinels name port {new_port} as primary")
    check(not inspect(primary)["State"]["Running"], "docker restarted the killed primary")

    after = Operator(f"{WORK}/cookies-after.txt")
    for n in range(2):
        accepted.append((after, after.submit(f"Folk tune after the failover, take {n}", 30)))
    codes = [code for _, code, _ in poller.samples]
    check(set(codes) <= {200, 503}, f"answers other than 200/503: {sorted(set(codes))}")
    longest = max(runs_of(poller.samples, 503), default=0.0)
    slowest = max(took for _, _, took in poller.samples)
    check(slowest < 6, f"a request took {slowest:.1f} s")
    down_after = int(ENV.get("SENTINEL_DOWN_AFTER_MS") or 5000) / 1000
    print(f"   jobs {statuses} at the kill; polls: {codes.count(200)} x 200, "
          f"{codes.count(503)} x 503, 0 other; longest 503 run {longest:.1f} s "
          f"(down-after {down_after:.0f} s); 200 again {healed:.1f} s after the kill, "
          f"no restart; slowest poll {slowest:.1f} s")
    print(f"   submit mid-failover -> {submits[0]}; new primary {STATE_HOST}:{new_port}")

    start = time.monotonic()
    for user, job_id in accepted:
        user.wait_finished(job_id, 300)
    keys = bucket_keys()
    worker_log = logs("worker-cpu")
    for _, job_id in accepted:
        runs = len(re.findall(rf"music\.generate\[{job_id}\] succeeded", worker_log))
        objects = [k for k in keys if job_id in k]
        check(runs == 1 and objects == [f"audio/{job_id}.wav"],
              f"job {job_id}: {runs} successful runs, objects {objects}")
    sweep = [line for line in logs("maintenance").splitlines() if "requeued" in line]
    requeued = [j for _, j in accepted if any(j in line for line in sweep)]
    restarted = [s for s, cid in services().items()
                 if s in APP and inspect(cid)["State"]["StartedAt"] != started_at[s]]
    check(not restarted, f"restarted: {restarted}")
    print(f"   {len(accepted)} jobs accepted (4 before the kill, 2 after"
          f"{', 1 during' if len(accepted) == 7 else ''}): all finished "
          f"{time.monotonic() - start:.0f} s later, exactly once (1 run, 1 object each); "
          f"re-sent by the stall sweep: {len(requeued)} ({requeued_at(requeued, jobs, statuses)});"
          f" no app container restarted")


def requeued_at(requeued: list[str], jobs: list[str], statuses: list[str]) -> str:
    """Which of the re-sent jobs were running or queued at the kill."""
    at = dict(zip(jobs, statuses, strict=True))
    return ", ".join(f"{j} {at.get(j, 'submitted later')}" for j in requeued) or "none"


def old_primary_rejoins() -> None:
    compose("start", "redis-primary")
    start = time.monotonic()
    wait_for("the old primary to become a replica", lambda: role("redis-primary") == "slave",
             90, 0.5)
    took = time.monotonic() - start
    info = " ".join(redis_cli("redis-primary", 16379, "info", "replication"))
    port = primary_port()
    check(f"master_port:{port}" in info, f"the old primary follows another: {info[:200]}")
    wait_for("ready", lambda: http_code(f"{API}/health/ready") == 200, 30)
    print(f"   old primary back: a replica of {STATE_HOST}:{port} {took:.1f} s after its start")


def down_v() -> None:
    timed("down -v", compose, "down", "-v", "--remove-orphans")
    left = {kind: project_objects(kind) for kind in ("container", "volume", "network")}
    check(not any(left.values()), f"left behind: {left}")
    print("   down -v: no container, volume or network of the project left")


def main() -> int:
    steps = [("S1. every client through the sentinels", through_the_sentinels),
             ("S2. a job rendered by the embedded composer", composer_job),
             ("S2b. logs at steady state", quiet_logs),
             ("S3. the primary container killed with jobs queued", kill_the_primary),
             ("S4. the old primary rejoins as a replica", old_primary_rejoins),
             ("S5. down -v", down_v)]
    return run_steps(steps)


if __name__ == "__main__":
    sys.exit(main())
