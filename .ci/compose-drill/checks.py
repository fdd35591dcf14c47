"""The compose drill's checks, as an operator would make them (run by drill.sh
in the copy of the work tree, with the stack up; it ends with the stack down).

1. health through the published port, the guide's curl workflow, Flower, an
   MP3 job through the encoder service, a job rendered by the worker image's
   embedded composer, no error in any log;
5. non-root, secrets only from the environment, only the published ports;
2. the worker container killed mid-job;
3. Redis restarted with jobs queued;
4. down/up keeps jobs and audio; down -v leaves nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
import wave

import yaml
from drillkit import (
    API,
    DOCKER,
    ENV,
    FLOWER,
    PROJECT,
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

SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|BASIC_AUTH|ACCESS_KEY")
IMAGES = ("music-api:latest", "music-worker:cpu-drill", "music-encoder:latest")
first = Operator(f"{WORK}/cookies.txt")
audio_sha: dict[str, str] = {}


def wait_ready(timeout: float = 180) -> None:
    wait_for("/health/ready 200", lambda: http_code(f"{API}/health/ready") == 200, timeout)


def check_wav(path: str, seconds: int) -> None:
    with open(path, "rb") as f:
        head = f.read(12)
    check(head[:4] == b"RIFF" and head[8:12] == b"WAVE", f"{path} is not RIFF/WAVE: {head!r}")
    with wave.open(path) as w:
        check(w.getframerate() == 48000 and w.getnchannels() == 2,
              f"{w.getframerate()} Hz x {w.getnchannels()} channels, not 48 kHz stereo")
        check(w.getnframes() == seconds * 48000, f"{w.getnframes()} frames for {seconds} s")


def health_workflow_flower() -> None:
    wait_ready()
    code, body = curl(f"{API}/health")
    check(code == 200 and '"healthy"' in body, f"/health -> {code} {body}")
    print("   /health and /health/ready: 200")
    job_id = first.submit("Smooth jazz with saxophone solo", 30, "jazz")
    first.wait_finished(job_id, 120)
    path = first.download(job_id, f"{WORK}/generated_music.wav")
    check_wav(path, 30)
    audio_sha[job_id] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    print(f"   curl workflow: job {job_id} -> 30 s 48 kHz stereo WAV")

    user, password = ENV["FLOWER_BASIC_AUTH"].split(":", 1)
    check(http_code(f"{FLOWER}/") == 401, "Flower answers without credentials")
    check(http_code(f"{FLOWER}/", "-u", f"{user}:wrong") == 401, "Flower takes a wrong password")
    check(http_code(f"{FLOWER}/", "-u", f"{user}:{password}") == 200, "Flower refuses its login")

    def lists_worker():
        code, body = curl(f"{FLOWER}/api/workers?refresh=1", "-u", f"{user}:{password}")
        return code == 200 and '"cpu0@' in body
    wait_for("Flower to list cpu0@", lists_worker, 60, 3)
    print("   Flower: 401 without (or with wrong) credentials, lists cpu0@ with them")


def mp3_through_the_encoder() -> None:
    """A compressed format: rendered by the worker, encoded by the `encoder` service."""
    import soundfile

    job_id = first.submit("Folk song with acoustic guitar", 30, "folk", format="mp3")
    job = first.wait_finished(job_id, 120)
    check(job.get("format") == "mp3", f"the job says format {job.get('format')!r}")
    path = first.download(job_id, f"{WORK}/generated_music.mp3", "audio/mpeg")
    info = soundfile.info(path)
    check(info.samplerate == 48000 and info.channels == 2 and abs(info.duration - 30) < 0.2,
          f"the MP3 decodes as {info.samplerate} Hz x {info.channels}, {info.duration:.2f} s")
    size = os.path.getsize(path)
    check(size == job.get("size_bytes"), f"{size} bytes served, job says {job.get('size_bytes')}")
    # The encoder deletes the WAV just after it finishes the job; a lossy job not
    # made by the composer keeps a FLAC master for edits (README, "Lossless masters").
    expected = sorted([f"audio/{job_id}.mp3"]
                      + ([] if job.get("engine") == "composer" else [f"audio/{job_id}.flac"]))
    try:
        wait_for("the WAV to be deleted",
                 lambda: sorted(k for k in bucket_keys() if job_id in k) == expected, 10, 0.5)
    except DrillError:
        found = [k for k in bucket_keys() if job_id in k]
        raise DrillError(f"objects {found}, not {expected}") from None
    rendered = [line for line in logs("worker-cpu").splitlines()
                if job_id in line and "now encoding mp3" in line]
    encoded = [line for line in logs("encoder").splitlines()
               if job_id in line and "job encoded as mp3" in line]
    check(rendered and len(encoded) == 1, f"worker: {rendered}, encoder: {encoded}")
    print(f"   mp3 job {job_id}: rendered by worker-cpu, encoded once by encoder; "
          f"{size / 1e6:.2f} MB, 48 kHz stereo, {info.duration:.2f} s; stored: "
          f"{', '.join(k.rsplit('.', 1)[1] for k in expected)}, no WAV")


BAD_LINE = re.compile(r'Traceback|"level": "(ERROR|CRITICAL)"|\[ERROR|ERROR/|CRITICAL/')


def composer_job() -> None:
    """The worker image's embedded composer renders a job in a container.

    The drill's worker runs the fixed-latency engine (its 8 s jobs pace the
    kills); for one job the same service runs once more with ENGINE=composer
    (`compose run`, its own command and image) while worker-cpu is stopped, so
    only the composer can take the job.
    """
    name = f"{PROJECT}-composer"
    worker = services()["worker-cpu"]
    compose("stop", "worker-cpu")
    compose("run", "-d", "-T", "--no-deps", "--name", name, "-e", "ENGINE=composer",
            "worker-cpu")
    try:
        user = Operator(f"{WORK}/cookies-composer.txt")
        job_id = user.submit("Smooth jazz with saxophone solo", 30, "jazz")
        started = time.monotonic()
        job = user.wait_finished(job_id, 300)  # the worker's start-up included
        waited = time.monotonic() - started
        check(job.get("engine") == "composer", f"job {job_id} ran on {job.get('engine')!r}")
        path = user.download(job_id, f"{WORK}/composer.wav")
        check_wav(path, 30)
        out = container_logs(name)
        runs = len(re.findall(rf"music\.generate\[{job_id}\] succeeded", out))
        bad = [line for line in out.splitlines() if BAD_LINE.search(line)]
        check(runs == 1 and not bad, f"{runs} successful runs; errors: {bad[:5]}")
        understood = job.get("understood") or {}
        print(f"   composer job {job_id}: engine {job['engine']}, genre "
              f"{understood.get('genre')!r}, 30 s 48 kHz stereo WAV, one run; "
              f"{waited:.0f} s from submit (worker start-up included)")
    except DrillError:
        print("\n".join(container_logs(name).splitlines()[-30:]), file=sys.stderr)
        raise
    finally:
        docker("stop", "-t", "30", name, check_rc=False)
        docker("rm", "-f", name, check_rc=False)
        # The container itself: Compose v2's `start` would wait on the service's
        # depends_on, which the Sentinel variant does not run.
        docker("start", worker)


def container_logs(name: str) -> str:
    return subprocess.run([DOCKER, "logs", name], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True).stdout


def quiet_logs() -> None:
    """Before any fault is injected, no service has logged an error."""
    lines = [line for line in compose("logs", "--no-color").splitlines() if BAD_LINE.search(line)]
    check(not lines, "errors logged at steady state:\n" + "\n".join(lines[:8]))
    print(f"   logs: no error or traceback from {len(services())} services")


# --- 5 --------------------------------------------------------------------------------
def non_root() -> None:
    for service, cid in sorted(services().items()):
        uid = docker("exec", cid, "id", "-u").strip()
        check(uid != "0", f"{service} runs as root")
    for cid in project_objects("container"):
        info = inspect(cid)
        user = info["Config"]["User"]
        check(user not in ("", "0", "root"), f"{info['Name']} has no non-root USER")
    print(f"   non-root: every container ({', '.join(sorted(services()))}, createbuckets)")


def secrets_only_from_environment() -> None:
    values = [ENV["SECRET_KEY"], ENV["AWS_SECRET_ACCESS_KEY"],
              ENV["FLOWER_BASIC_AUTH"].split(":", 1)[1]]
    for image in IMAGES:
        names = [e.split("=", 1)[0] for e in inspect(image)["Config"]["Env"] or []]
        check(not [n for n in names if SECRET_NAME.search(n)], f"{image} env: {names}")
        history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
        check(not SECRET_NAME.search(history) and not any(v in history for v in values),
              f"{image} history names a secret")
    running = services()
    for service in ("api", "worker-cpu", "encoder"):
        env = dict(e.split("=", 1) for e in inspect(running[service])["Config"]["Env"])
        check(env.get("SECRET_KEY") == ENV["SECRET_KEY"], f"{service} lacks SECRET_KEY")
        found = scan_filesystem(running[service], [v.encode() for v in values])
        check(not found, f"{service}'s filesystem holds a secret: {found}")
    print("   secrets: none in image env/history or container filesystems; env has them")


def scan_filesystem(cid: str, needles: list[bytes]) -> list[str]:
    """docker export, streamed: which needles occur anywhere in the files."""
    proc = subprocess.Popen([DOCKER, "export", cid], stdout=subprocess.PIPE)
    keep = max(len(n) for n in needles)
    tail, found = b"", set()
    while chunk := proc.stdout.read(8 << 20):
        window = tail + chunk
        found |= {n.decode()[:6] + "..." for n in needles if n in window}
        tail = window[-keep:]
    check(proc.wait() == 0, f"docker export {cid} failed")
    return sorted(found)


def only_published_ports() -> None:
    config = yaml.safe_load(compose("config"))
    expected = set()
    for name, service in config["services"].items():
        if "gpu" in (service.get("profiles") or []):
            continue
        for port in service.get("ports", []):
            expected.add(normalise_port(name, port))
    actual = set()
    for name, cid in services().items():
        for target, bindings in (inspect(cid)["NetworkSettings"]["Ports"] or {}).items():
            for b in bindings or []:
                ip = "*" if b["HostIp"] in ("0.0.0.0", "::", "") else b["HostIp"]
                actual.add((name, ip, int(b["HostPort"]), int(target.split("/")[0])))
    check(actual == expected, f"published {sorted(actual)}, the file says {sorted(expected)}")
    listening = set()
    ss = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
    for line in ss.splitlines():
        if "docker-proxy" in line:
            ip, _, port = line.split()[3].rpartition(":")
            listening.add(("*" if ip in ("0.0.0.0", "[::]", "*") else ip, int(port)))
    check(listening == {(ip, port) for _, ip, port, _ in expected},
          f"host listeners {sorted(listening)} vs {sorted(expected)}")
    print(f"   ports: only {sorted((s, ip, p) for s, ip, p, _ in expected)}")


def normalise_port(service: str, port) -> tuple:
    if isinstance(port, dict):
        ip = port.get("host_ip") or "*"
        return service, "*" if ip == "0.0.0.0" else ip, int(port["published"]), int(port["target"])
    parts = str(port).split("/")[0].split(":")
    ip = parts[0] if len(parts) == 3 else "*"
    return service, "*" if ip == "0.0.0.0" else ip, int(parts[-2]), int(parts[-1])


# --- 2 --------------------------------------------------------------------------------
def kill_worker_mid_job() -> None:
    user = Operator(f"{WORK}/cookies-kill.txt")
    job_id = user.submit("Lo-fi hip hop beat with vinyl crackle", 30)

    def running():
        job = user.job(job_id)
        return job["status"] == "started" and int(job.get("progress") or 0) >= 25
    wait_for("the job to be running", running, 60, 0.3)
    worker = services()["worker-cpu"]
    docker("kill", worker)
    killed = time.monotonic()
    time.sleep(5)
    if inspect(worker)["State"]["Running"]:
        how = "the restart policy restarted it"
    else:
        how = "stays down after docker kill (Docker counts a kill as a manual stop); compose start"
        compose("start", "worker-cpu")
    user.wait_finished(job_id, 180)
    print(f"   worker killed at >= 25 %: {how}; job finished "
          f"{time.monotonic() - killed:.0f} s after the kill")
    requeued = [line for line in logs("maintenance").splitlines()
                if "requeued" in line and job_id in line]
    check(requeued, "the maintenance worker did not requeue the job")
    succeeded = len(re.findall(rf"music\.generate\[{job_id}\] succeeded", logs("worker-cpu")))
    keys = [k for k in bucket_keys() if job_id in k]
    check(succeeded == 1 and keys == [f"audio/{job_id}.wav"],
          f"{succeeded} successful runs, objects {keys}")
    print(f"   exactly once: 1 successful run in the worker's log, 1 object ({keys[0]})")


# --- 3 --------------------------------------------------------------------------------
class Poller(threading.Thread):
    """GET one job ten times a second: (time, HTTP code, seconds taken) each."""

    def __init__(self, url: str, cookie: str) -> None:
        super().__init__()
        self.url, self.cookie = url, cookie
        self.samples: list[tuple[float, int, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            start = time.monotonic()
            code = http_code(self.url, "-H", f"Cookie: {self.cookie}")
            self.samples.append((start, code, time.monotonic() - start))
            time.sleep(0.1)

    def last_code(self) -> int | None:
        return self.samples[-1][1] if self.samples else None

    def since(self, t: float) -> list[int]:
        return [code for start, code, _ in self.samples if start >= t]


def restart_redis() -> None:
    user = Operator(f"{WORK}/cookies-redis.txt")
    jobs = [user.submit(f"Ambient pads, take {n}", 30, "ambient") for n in range(3)]
    time.sleep(1.5)  # appendfsync everysec
    statuses = [user.job(j)["status"] for j in jobs]
    check(statuses.count("queued") >= 2, f"expected queued jobs, got {statuses}")
    poller = Poller(f"{API}/api/jobs/{jobs[-1]}", user.cookie_header())
    poller.start()
    try:
        timed("docker compose restart redis", compose, "restart", "redis")
        wait_for("200 after the restart", lambda: poller.last_code() == 200, 30, 0.2)
        during_restart = sorted(set(poller.since(0)))
        # A restart is shorter than the API's connect timeout: requests wait it
        # out. A longer outage must turn into 503s, then heal without help.
        timed("docker compose stop redis", compose, "stop", "redis")
        stopped = time.monotonic()
        wait_for("503 with Redis down", lambda: poller.last_code() == 503, 15, 0.2)
        time.sleep(2)  # an outage of a few seconds, every answer a 503
        check(http_code(f"{API}/health/ready") == 503, "/health/ready is not 503 without Redis")
        check(http_code(f"{API}/health") == 200, "/health (liveness) fails without Redis")
        timed("docker compose start redis", compose, "start", "redis")
        started = time.monotonic()
        wait_for("200 after Redis came back", lambda: poller.last_code() == 200, 30, 0.2)
        healed = time.monotonic() - started
        time.sleep(2)
    finally:
        poller.done.set()
        poller.join()
    codes = [code for _, code, _ in poller.samples]
    check(set(codes) <= {200, 503}, f"answers other than 200/503: {sorted(set(codes))}")
    slowest = max(took for _, _, took in poller.samples)
    check(slowest < 6, f"a request took {slowest:.1f} s")
    check(set(poller.since(started + healed)) == {200}, "the API flapped after recovering")
    print(f"   restart: answers {during_restart}; stop: {poller.since(stopped).count(503)} x 503 "
          f"(and /health/ready 503); 200 again {healed:.1f} s after start; slowest {slowest:.1f} s")
    for job_id in jobs:
        user.wait_finished(job_id, 240)
    keys = bucket_keys()
    check(all(keys.count(f"audio/{j}.wav") == 1 for j in jobs), f"objects: {keys}")
    print(f"   {statuses} before the restart -> all 3 finished, one object each")


# --- 4 --------------------------------------------------------------------------------
def down_up_then_down_v() -> None:
    volumes = set(project_objects("volume"))
    timed("down", compose, "down")
    check(not project_objects("container"), "containers left after down")
    # Compose v1 creates every volume the file names (the state profile's too),
    # v2 only those of the services it starts: compare, don't count.
    check(volumes and set(project_objects("volume")) == volumes, "down removed volumes")
    timed("up -d", compose, "up", "-d", "--no-build")
    timed("ready again", wait_ready)
    for job_id, sha in audio_sha.items():
        check(first.job(job_id)["status"] == "finished", f"job {job_id} lost by down/up")
        path = first.download(job_id, f"{WORK}/again.wav")
        check(hashlib.sha256(open(path, "rb").read()).hexdigest() == sha, "audio changed")
    print("   after down/up: the first job still finished, same audio, same cookie")
    timed("down -v", compose, "down", "-v", "--remove-orphans")
    left = {kind: project_objects(kind) for kind in ("container", "volume", "network")}
    check(not any(left.values()), f"left behind: {left}")
    print("   down -v: no container, volume or network of the project left")


def main() -> int:
    steps = [("1. health, curl workflow, Flower", health_workflow_flower),
             ("1b. an MP3 through the encoder service", mp3_through_the_encoder),
             ("1c. a job rendered by the embedded composer", composer_job),
             ("1d. logs at steady state", quiet_logs),
             ("5a. non-root", non_root),
             ("5b. secrets only from the environment", secrets_only_from_environment),
             ("5c. only the published ports", only_published_ports),
             ("2. worker killed mid-job", kill_worker_mid_job),
             ("3. Redis restarted (and stopped) with jobs queued", restart_redis),
             ("4. down/up, down -v", down_up_then_down_v)]
    return run_steps(steps)


if __name__ == "__main__":
    sys.exit(main())
