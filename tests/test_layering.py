"""The layers stay apart: web/ never loads torch or an engine; engines and storage know no HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.services import ROOT, run_python


def test_the_api_process_never_imports_numpy_torch_or_an_engine():
    script = (
        "import sys\n"
        "from web import create_app\n"
        "app = create_app()\n"
        "client = app.test_client()\n"
        "assert client.get('/health').status_code == 200\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'diffusers', 'transformers', 'scipy', 'numpy') or m.startswith(("
        "'inference.composer', 'inference.acestep', 'inference.base')))\n"
        "print(loaded)\n"
    )
    out = run_python("-c", script, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def imports_of(package: str) -> set[str]:
    names = set()
    for path in Path(ROOT, package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        (
            "inference",
            {"flask", "werkzeug", "celery", "kombu", "redis", "boto3", "storage", "tasks", "web"},
        ),
        ("storage", {"flask", "werkzeug", "celery", "tasks", "web", "inference"}),
    ],
)
def test_lower_layers_do_not_import_upper_ones(package, forbidden):
    assert not imports_of(package) & forbidden


def dotted_imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_job_contract_and_config_import_no_celery_task_module_and_no_web():
    tasks_modules = ("tasks.generate", "tasks.maintenance", "tasks.worker", "tasks.batch")
    for folder in ("tasks/jobs", "tasks/config"):
        for path in Path(ROOT, folder).rglob("*.py"):
            bad = {n for n in dotted_imports_of(path)
                   if n.startswith(tasks_modules) or n.split(".")[0] == "web"}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_web_reaches_engines_only_through_the_stdlib_contract():
    allowed = {"inference.contract", "inference.errors"}
    for path in Path(ROOT, "web").rglob("*.py"):
        bad = {n for n in dotted_imports_of(path)
               if n.split(".")[0] == "inference" and n not in allowed}
        bad |= {n for n in dotted_imports_of(path) if n in ("tasks.generate", "tasks.worker")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_engine_contract_is_standard_library_only():
    import sys

    for name in ("contract", "errors", "settings"):
        roots = {n.split(".")[0] for n in dotted_imports_of(Path(ROOT, "inference", f"{name}.py"))}
        roots -= {"__future__", "inference"}
        assert roots <= set(sys.stdlib_module_names), (name, roots)


def test_the_job_contract_is_handed_its_store_never_builds_it():
    # The wiring (which Redis, plain or Sentinel; which storage) is chosen in
    # tasks/config and handed down by the caller (tasks/maintenance.py).
    wiring = ("tasks.config.services", "tasks.config.redis_clients")
    for path in Path(ROOT, "tasks/jobs").rglob("*.py"):
        bad = {n for n in dotted_imports_of(path) if n.startswith(wiring)}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
