"""What may import what: torch stays out of the web process, Django out of the numerical core,
and the project's import graph has no cycle."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import import_cycles  # noqa: E402  (a script, not a package: found through the path set above)

# The modules that import torch (models_app/ser/__init__.py says why nothing else may).
TORCH_BOUND = ("models_app.ser.methods", "models_app.ser.torch_utils", "models_app.ser.persistence")


def _run(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def _is_torch_bound(module: str) -> bool:
    return any(module == bound or module.startswith(bound + ".") for bound in TORCH_BOUND)


def test_the_web_side_does_not_import_torch():
    web_modules = [m for m in import_cycles.project_modules() if not _is_torch_bound(m)]
    assert "models_app.api.predict" in web_modules and "models_app.tasks.jobs" in web_modules
    code = (
        "import importlib, os, sys\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'\n"
        "import django; django.setup()\n"
        f"for name in {web_modules!r}: importlib.import_module(name)\n"
        "from django.urls import get_resolver; get_resolver().url_patterns\n"
        "from emolab.celery import app; app.loader.import_default_modules()\n"
        "print('torch' in sys.modules, 'models_app.tasks.jobs' in sys.modules)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"], result.stdout + result.stderr


def test_the_torch_bound_modules_do_import_torch():
    """The list above is not stale: each one really loads torch."""
    for module in TORCH_BOUND:
        result = _run(f"import sys, {module}; print('torch' in sys.modules)")
        assert result.stdout.strip() == "True", module + result.stderr


def test_the_numerical_core_imports_neither_django_nor_celery():
    # The whole of ser, not only the analysis: it must run outside the web app, and figures must
    # not need a display.
    core = [m for m in import_cycles.project_modules() if m == "models_app.ser" or m.startswith("models_app.ser.")]
    assert len(core) > 40
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}: importlib.import_module(name)\n"
        "bad = [m for m in ('django', 'celery', 'rest_framework', 'matplotlib.pyplot') if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_import_graph_has_no_cycle():
    graph = import_cycles.import_graph(import_cycles.project_modules())
    assert "models_app.tasks.jobs" in graph["models_app.tasks"]  # the graph sees package imports
    assert import_cycles.cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles.cycles(graph) == [["a", "b", "c"]]
