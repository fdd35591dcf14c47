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
