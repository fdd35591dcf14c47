"""The compose drill's override swaps only what cannot run without registries or
a GPU, and the compose file stays runnable by Compose v1 (`make compose-drill`
runs both for real; these checks are the cheap, static half).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DRILL = ROOT / ".ci" / "compose-drill"
OVERRIDE = DRILL / "docker-compose.drill.yml"
REQUIRED_REF = re.compile(r"\$\{([A-Z][A-Z0-9_]*):\?[^}]*\}")
GPU_ONLY_ENV = {"CUDA_VISIBLE_DEVICES", "ACESTEP_DEVICE"}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def base() -> dict:
    return load(ROOT / "docker-compose.yml")["services"]


@pytest.fixture(scope="module")
def override() -> dict:
    return load(OVERRIDE)["services"]


def same_refs(value):
    """${VAR:?message} -> ${VAR:?}: the messages may differ, the variables not."""
    if isinstance(value, dict):
        return {k: same_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [same_refs(v) for v in value]
    return REQUIRED_REF.sub(r"${\1:?}", value) if isinstance(value, str) else value


def test_the_override_touches_only_the_stand_ins_and_the_workers(base, override):
    assert set(override) == {"redis", "minio", "createbuckets", "worker-gpu0", "worker-gpu1",
                             "worker-cpu"}
    assert set(override["redis"]) == {"image"}
    assert set(override["minio"]) == {"image", "command", "healthcheck"}
    assert set(override["createbuckets"]) == {"image", "entrypoint"}
    gpu_workers = {name for name in base if re.fullmatch(r"worker-gpu\d+", name)}
    for name in gpu_workers:
        assert override[name] == {"profiles": ["gpu"]}, name
    # The production file itself keeps its GPU reservations.
    for name in gpu_workers:
        assert base[name]["deploy"]["resources"]["reservations"]["devices"], name


def test_the_cpu_worker_is_gpu0_without_its_gpu(base, override):
    expected = copy.deepcopy(base["worker-gpu0"])
    del expected["deploy"], expected["volumes"]  # the GPU and the model folder
    expected["image"] = "music-worker:cpu-drill"
    expected["build"]["args"] = {"PYTHON_IMAGE": "music-drill/python-torch-cpu:3.11"}
    env = {k: v for k, v in expected["environment"].items() if k not in GPU_ONLY_ENV}
    expected["environment"] = dict(env, WORKER_NAME="cpu0")
    command = expected["command"]
    command[command.index("-n") + 1] = "cpu0@%h"
    assert same_refs(override["worker-cpu"]) == same_refs(expected)


def test_the_compose_file_has_no_compose_v2_only_form():
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"^name:", text, re.M)
    for name, service in load(ROOT / "docker-compose.yml")["services"].items():
        env_file = service.get("env_file")
        if env_file is not None:
            entries = env_file if isinstance(env_file, list) else [env_file]
            assert all(isinstance(e, str) for e in entries), name
    assert re.search(r"^COMPOSE_PROJECT_NAME=music$", (ROOT / ".env.example").read_text(), re.M)


def test_the_dockerfile_needs_no_registry_frontend_and_takes_another_base():
    text = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"^# *syntax=", text, re.M)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS base$", text, re.M)
    # The legacy builder runs every stage above the target: only the last may
    # install torch, or building the api/encoder image would pull CUDA torch.
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, re.M)
    assert stages[-1] == "worker", stages
    for name, body in zip(stages, re.split(r"^FROM .*$", text, flags=re.M)[1:], strict=True):
        assert ("requirements.txt" in body) == (name == "worker"), name


def compose_binary(version: str) -> list[str] | None:
    """Debian's Compose v1, or a v2: the docker CLI plugin or the drill's pinned binary."""
    if version == "v1":
        for path in ("/usr/bin/docker-compose", shutil.which("docker-compose")):
            if path and Path(path).exists() and _version(path).startswith("1."):
                return [path]
        return None
    docker = shutil.which("docker")
    if docker and _version(docker, "compose").startswith("2."):
        return [docker, "compose"]
    drill_binary = Path("/var/lib/music-compose-drill/compose-v2/docker-compose")
    return [str(drill_binary)] if drill_binary.exists() else None


def _version(*cmd: str) -> str:
    done = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True)
    return done.stdout.strip().removeprefix("v") if done.returncode == 0 else ""


def compose_project(tmp_path: Path, version: str, overrides: list[Path], env: str = "") -> list:
    """The compose file and these overrides in a scratch project with a minimal .env;
    the Compose command (skips the test where this Compose is not installed)."""
    compose = compose_binary(version)
    if compose is None:
        pytest.skip(f"no Compose {version} here (make compose-drill installs both)")
    (tmp_path / ".ci" / "compose-drill").mkdir(parents=True)
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    for path in overrides:
        shutil.copy(path, tmp_path / ".ci" / "compose-drill")
    (tmp_path / ".env").write_text(
        "COMPOSE_PROJECT_NAME=music\n" + env +
        "SECRET_KEY=s\nAWS_ACCESS_KEY_ID=a\nAWS_SECRET_ACCESS_KEY=b\nFLOWER_BASIC_AUTH=u:p\n"
    )
    return compose


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_compose_accepts_the_file_and_the_override(tmp_path, version):
    compose = compose_project(tmp_path, version, [OVERRIDE])
    files = ["-f", "docker-compose.yml", "-f", ".ci/compose-drill/docker-compose.drill.yml"]
    done = subprocess.run([*compose, *files, "config", "--services"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    services = set(load(ROOT / "docker-compose.yml")["services"]) | {"worker-cpu"}
    # v2 leaves out the services of profiles that are not active (the parked
    # GPU workers, the `model` tool); v1 lists every service.
    profiled = {"worker-gpu0", "worker-gpu1", "model"}
    expected = services - profiled if version == "v2" else services
    assert set(done.stdout.split()) == expected
    alone = subprocess.run([*compose, "config", "-q"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert alone.returncode == 0, alone.stderr
    if version == "v2":
        # The project name comes from .env, as the compose file's header says.
        named = subprocess.run([*compose, "config", "--format", "json"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
        assert '"name": "music"' in named.stdout, named.stderr


# --- the Sentinel variant (make compose-drill SENTINEL=1) -----------------------------
SENTINEL_OVERRIDE = DRILL / "docker-compose.sentinel.yml"
STATE = ("redis-primary", "redis-replica-1", "redis-replica-2",
         "sentinel-1", "sentinel-2", "sentinel-3")
DRILL_PORTS = {"6379": "16379", "6380": "16380", "6381": "16381",
               "26379": "26479", "26380": "26480", "26381": "26481"}


def moved(value):
    """The base file's state services with the drill's ports (host networking)."""
    if isinstance(value, dict):
        return {k: moved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [moved(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"(?<![\d:])(2?63(?:79|80|81))(?!\d)", lambda m: DRILL_PORTS[m[1]], value)
    return value


def test_the_sentinel_override_moves_only_the_state_services_ports(base):
    override = load(SENTINEL_OVERRIDE)["services"]
    assert set(override) == set(STATE)
    for name in STATE:
        assert override[name]["image"] == "music-drill/redis:bookworm", name
        changed = {k: v for k, v in override[name].items() if k != "image"}
        for key, value in changed.items():
            expected = moved(base[name][key])
            if key == "environment":  # merged with the base's by Compose
                expected = {k: v for k, v in expected.items() if k in value}
            assert value == expected, (name, key)
        # Every place the base names a port is overridden.
        for key in ("command", "entrypoint", "environment"):
            if key in base[name] and moved(base[name][key]) != base[name][key]:
                assert key in changed, (name, key)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_compose_accepts_the_sentinel_variant(tmp_path, version):
    compose = compose_project(tmp_path, version, [OVERRIDE, SENTINEL_OVERRIDE],
                              "STATE_HOST=192.0.2.2\n")
    files = ["-f", "docker-compose.yml", "-f", ".ci/compose-drill/docker-compose.drill.yml",
             "-f", ".ci/compose-drill/docker-compose.sentinel.yml"]
    done = subprocess.run([*compose, *files, "config"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                      "COMPOSE_PROFILES": "state"})
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)["services"]
    assert "--replicaof" in config["redis-replica-1"]["command"]
    replica = config["redis-replica-1"]["command"]
    assert replica[replica.index("--replicaof") + 1:][:2] == ["192.0.2.2", "16379"]
    assert config["sentinel-2"]["environment"] == {"SENTINEL_PORT": "26480",
                                                   "STATE_HOST": "192.0.2.2"}
    script = " ".join(config["sentinel-3"]["entrypoint"])
    # v1 prints the escaped `$$`, v2 the `$` the container gets.
    assert re.search(r"sentinel monitor music \$\$?STATE_HOST 16379 2", script), script
