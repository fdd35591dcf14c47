"""The deployment files, checked statically (no Docker engine runs here).

docker-compose.yml is parsed with PyYAML (merge keys resolved), the Dockerfile
is read stage by stage, and every environment variable the code reads must be
documented in .env.example.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tasks.config.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENGINE_PACKAGES = {"torch", "diffusers", "transformers", "accelerate", "tokenizers", "safetensors"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|BASIC_AUTH|ACCESS_KEY")
REQUIRED_REF = re.compile(r"^\$\{([A-Z][A-Z0-9_]*):\?[^}]*\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def command(service: dict) -> list[str]:
    cmd = service.get("command")
    return cmd.split() if isinstance(cmd, str) else list(cmd or [])


def env(service: dict) -> dict:
    value = service.get("environment") or {}
    if isinstance(value, list):
        value = dict(item.split("=", 1) if "=" in item else (item, None) for item in value)
    return value


def gpu_workers(services: dict) -> dict:
    return {name: s for name, s in services.items() if re.fullmatch(r"worker-gpu\d+", name)}


# --- compose -------------------------------------------------------------------------
def test_every_service_is_there(services):
    expected = {"redis", "minio", "createbuckets", "api", "maintenance", "flower", "beat",
                "webhooks"}
    assert expected <= set(services)
    assert len(gpu_workers(services)) >= 2


def test_redis_is_durable_and_never_evicts(services, compose):
    redis = services["redis"]
    cmd = " ".join(command(redis))
    assert re.search(r"--appendonly\s+yes", cmd)
    assert re.search(r"--maxmemory-policy\s+noeviction", cmd)
    assert re.search(r"--maxmemory\s+\$\{REDIS_MAXMEMORY:-\d+[kmg]b\}", cmd)
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    volume = redis["volumes"][0].split(":")
    assert volume[1] == "/data" and volume[0] in compose["volumes"]


def test_minio_and_bucket_creation(services, compose):
    minio = services["minio"]
    assert minio["healthcheck"]["test"]
    assert any(v.split(":")[0] in compose["volumes"] for v in minio["volumes"])
    bucket = services["createbuckets"]
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy"
    script = " ".join(bucket["entrypoint"])
    assert "mc mb --ignore-existing" in script
    assert bucket.get("restart") == "no"


def test_app_services_wait_for_redis_and_the_bucket(services):
    for name in ("api", "maintenance", "beat", "flower", "webhooks", *gpu_workers(services)):
        deps = services[name]["depends_on"]
        assert deps["redis"]["condition"] == "service_healthy", name
        assert deps["createbuckets"]["condition"] == "service_completed_successfully", name


def test_api_runs_gunicorn_with_the_top_level_config(services):
    api = services["api"]
    cmd = command(api)
    assert cmd[0] == "gunicorn"
    assert cmd[cmd.index("-c") + 1] == "gunicorn.conf.py"
    assert "web:create_app()" in cmd
    assert api["build"]["target"] == "api"
    assert api["healthcheck"]["test"] and "/health" in " ".join(api["healthcheck"]["test"])
    assert env(api)["PROMETHEUS_MULTIPROC_DIR"]
    assert (ROOT / "gunicorn.conf.py").is_file()
    assert not (ROOT / "web" / "gunicorn_conf.py").exists()
    conf = (ROOT / "gunicorn.conf.py").read_text()
    assert "def child_exit" in conf and "mark_process_dead" in conf


def test_one_pinned_worker_per_gpu(services):
    workers = gpu_workers(services)
    seen_devices = set()
    for name, worker in sorted(workers.items()):
        index = name.removeprefix("worker-gpu")
        cmd = command(worker)
        assert cmd[:4] == ["celery", "-A", "tasks", "worker"], name
        assert cmd[cmd.index("-Q") + 1] == "music", name
        assert cmd[cmd.index("-c") + 1] == "1", name
        assert cmd[cmd.index("-n") + 1] == f"gpu{index}@%h", name
        assert worker["build"]["target"] == "worker", name
        (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia", name
        assert device["device_ids"] == [index], name
        assert device["capabilities"] == ["gpu"], name
        seen_devices.add(index)
        # Inside the container the one reserved GPU is always device 0.
        assert env(worker)["CUDA_VISIBLE_DEVICES"] == "0", name
    assert len(seen_devices) == len(workers)


def test_light_services(services):
    maintenance = command(services["maintenance"])
    assert maintenance[maintenance.index("-Q") + 1] == "maintenance"
    assert "-c" in maintenance and maintenance[maintenance.index("-c") + 1] == "1"
    for name in ("maintenance", "beat", "flower", "webhooks"):
        assert services[name]["build"]["target"] == "api", name
    assert command(services["beat"])[:4] == ["celery", "-A", "tasks", "beat"]


def test_flower_always_asks_for_credentials(services):
    flower = services["flower"]
    assert command(flower)[:4] == ["celery", "-A", "tasks", "flower"]
    match = REQUIRED_REF.match(env(flower)["FLOWER_BASIC_AUTH"])
    assert match and match.group(1) == "FLOWER_BASIC_AUTH"
    # Published on loopback only.
    assert all(str(port).startswith("127.0.0.1:") for port in flower["ports"])


def test_no_secret_is_written_in_the_compose_file(services):
    for name, service in services.items():
        for key, value in env(service).items():
            if SECRET_NAME.search(key):
                assert isinstance(value, str) and REQUIRED_REF.match(value), (
                    f"{name}: {key} must be a required ${{VAR:?}} reference, got {value!r}"
                )
    text = COMPOSE.read_text()
    assert "minioadmin" not in text
    for line in text.splitlines():
        # Any KEY: value line naming a secret carries a reference, never a literal.
        m = re.match(r"\s*-?\s*([A-Z_]+)\s*[:=]\s*(\S.*)$", line)
        if m and SECRET_NAME.search(m.group(1)):
            assert m.group(2).startswith("${"), line


def test_healthchecks(services):
    for name in ("redis", "minio", "api", *gpu_workers(services)):
        assert services[name]["healthcheck"]["test"], name


# --- images ----------------------------------------------------------------------
def dockerfile_stages() -> dict[str, str]:
    stages, current = {}, None
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        m = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
        if m:
            current = m.group(1).lower()
            stages[current] = ""
        elif current:
            stages[current] += line + "\n"
    return stages


def requirement_names(path: Path) -> set[str]:
    names = set()
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r"):
            names |= requirement_names(path.parent / line[2:].strip())
            continue
        names.add(re.split(r"[\[<>=!~;\s]", line, maxsplit=1)[0].lower())
    return names


def test_api_image_carries_no_torch():
    stages = dockerfile_stages()
    assert {"api", "worker"} <= set(stages)
    installed = re.findall(r"pip install(?: [-\w]+)* -r (\S+)", stages["api"])
    assert installed == ["requirements-api.txt"]
    api_names = requirement_names(ROOT / "requirements-api.txt")
    assert not api_names & ENGINE_PACKAGES
    assert {"flask", "celery", "gunicorn", "boto3", "prometheus-client"} <= api_names
    worker_files = re.findall(r"pip install(?: [-\w]+)* -r (\S+)", stages["worker"])
    assert "requirements.txt" in worker_files
    assert {"torch", "diffusers"} <= requirement_names(ROOT / "requirements.txt")


def test_requirements_txt_includes_the_api_set():
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert "-r requirements-api.txt" in lines
    assert requirement_names(ROOT / "requirements-api.txt") <= requirement_names(
        ROOT / "requirements.txt"
    )


# --- environment variables -----------------------------------------------------------
_READS = [
    re.compile(r"\benviron(?:\.get|\.setdefault|\.pop)\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']"),
    re.compile(r"\benviron\[\s*[\"']([A-Z][A-Z0-9_]+)[\"']\s*\](?!\s*=[^=])"),
    re.compile(r"\bgetenv\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']"),
    # inference/acestep/settings.py reads through a mapping called env.
    re.compile(r"\benv\.get\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']"),
    re.compile(r"\(\s*env\s*,\s*[\"']([A-Z][A-Z0-9_]+)[\"']"),
]
# ${VAR} substitutions; $${VAR} is compose's escape for the container's own shell.
_SHELL_REF = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)")
# Read by libraries, or by make/compose rather than Python.
_EXTERNAL = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "FLOWER_BASIC_AUTH",
    "API_PORT",
    "FLOWER_PORT",
    "PROMETHEUS_MULTIPROC_DIR",
}


def variables_read_by_the_code() -> set[str]:
    names = set(Settings.env_names()) | _EXTERNAL
    sources = [p for p in ROOT.rglob("*.py") if not _skip(p)]
    for path in sources:
        text = path.read_text(errors="replace")
        for pattern in _READS:
            names.update(pattern.findall(text))
    for path in [*ROOT.glob(".ci/*.sh"), COMPOSE]:
        code = "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
        )
        names.update(_SHELL_REF.findall(code))
    return names


def _skip(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    # .ci/: the drills' own helpers (their variables are no service setting).
    return parts[0] in {".venv", "tests", "bench", "var", ".git", ".ci"} or "__pycache__" in parts


def documented_variables() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.M))


def test_the_scan_finds_what_it_should():
    found = variables_read_by_the_code()
    # Guards against a scanner that silently matches nothing.
    assert {"ENGINE", "FIXED_ENGINE_MS", "ACESTEP_MODEL_DIR", "ACESTEP_STEPS",
            "GUNICORN_WORKER_CLASS", "WEB_CONCURRENCY", "REDIS_URL", "LOG_JSON"} <= found
    assert "HF_HUB_OFFLINE" not in found  # written by the engine, not read


def test_every_variable_is_documented_in_env_example():
    missing = sorted(variables_read_by_the_code() - documented_variables())
    assert not missing, f".env.example does not list: {', '.join(missing)}"


def test_env_example_sets_no_secret():
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m and SECRET_NAME.search(m.group(1)):
            assert m.group(2) == "", f"{m.group(1)} has a value in .env.example"


def test_an_encoder_compresses_off_the_gpu_workers(services):
    encoder = services["encoder"]
    cmd = command(encoder)
    assert cmd[:4] == ["celery", "-A", "tasks", "worker"]
    assert cmd[cmd.index("-Q") + 1] == "encode"
    assert "deploy" not in encoder  # no GPU reserved
    assert encoder["build"]["target"] == "encoder"
    for name in gpu_workers(services):
        gpu = command(services[name])
        assert "encode" not in gpu[gpu.index("-Q") + 1].split(",")
    stage = dockerfile_stages()["encoder"]
    assert re.findall(r"pip install(?: [-\w]+)* -r (\S+)", stage) == ["requirements-encode.txt"]
    names = requirement_names(ROOT / "requirements-encode.txt")
    assert {"soundfile", "numpy", "celery"} <= names and not names & ENGINE_PACKAGES
    assert names <= requirement_names(ROOT / "requirements.txt")
    stack = (ROOT / ".ci" / "stack.sh").read_text()
    assert re.search(r"celery\" -A tasks worker -Q encode", stack)


def test_webhooks_are_sent_by_their_own_cpu_workers(services):
    hooks = services["webhooks"]
    cmd = command(hooks)
    assert cmd[:4] == ["celery", "-A", "tasks", "worker"]
    assert cmd[cmd.index("-Q") + 1] == "webhooks"
    assert "deploy" not in hooks and hooks["build"]["target"] == "api"
    for name in gpu_workers(services):
        gpu = command(services[name])
        assert "webhooks" not in gpu[gpu.index("-Q") + 1].split(",")
    api_packages = requirement_names(ROOT / "requirements-api.txt")
    assert {"standardwebhooks", "requests-hardened"} <= api_packages
    stack = (ROOT / ".ci" / "stack.sh").read_text()
    assert re.search(r"celery\" -A tasks worker -Q webhooks ", stack)
    assert not re.search(r"-Q [\w,]*music[\w,]*webhooks|-Q [\w,]*webhooks[\w,]*music", stack)
    import celeryconfig

    assert celeryconfig.task_routes["music.deliver_webhook"] == {"queue": "webhooks"}
    assert celeryconfig.beat_schedule["sweep-webhooks"]["task"] == "music.sweep_webhooks"


# --- several machines: the state host's Sentinel set ------------------------------------
STATE = ("redis-primary", "redis-replica-1", "redis-replica-2",
         "sentinel-1", "sentinel-2", "sentinel-3")


def test_the_state_host_is_a_primary_two_replicas_and_three_sentinels(services):
    for name in STATE:
        service = services[name]
        # Never started by a plain `up` (the one-machine deployment keeps its single Redis).
        assert service["profiles"] == ["state"], name
        assert service["network_mode"] == "host", name
        assert service["healthcheck"]["test"], name
    ports = set()
    for name in STATE[:3]:
        cmd = command(services[name])
        assert re.search(r"--appendonly yes", " ".join(cmd)), name  # AOF on every data node
        assert "noeviction" in cmd and "--replica-announce-ip" in cmd, name
        ports.add(cmd[cmd.index("--port") + 1])
        if name != "redis-primary":
            assert cmd[cmd.index("--replicaof") + 2] == "6379", name
    assert ports == {"6379", "6380", "6381"}
    script = " ".join(services["sentinel-1"]["entrypoint"])
    assert "sentinel monitor music $$STATE_HOST 6379 2" in script  # quorum 2 of 3
    assert {env(services[n])["SENTINEL_PORT"] for n in STATE[3:]} == {"26379", "26380", "26381"}


def test_app_roles_take_their_redis_and_s3_from_the_hosts_env(services):
    for name in ("api", "beat", "flower", "maintenance", "encoder", "webhooks",
                 *gpu_workers(services)):
        variables = env(services[name])
        assert variables["REDIS_URL"] == "${STATE_REDIS_URL:-redis://redis:6379/0}", name
        assert variables["S3_ENDPOINT_URL"] == "${STATE_S3_ENDPOINT_URL:-http://minio:9000}", name
    # MinIO answers other hosts only where the operator says so.
    assert services["minio"]["ports"] == ["${MINIO_BIND:-127.0.0.1}:9000:9000"]
