"""The package's layout holds: no import cycles, and the beat side never imports the Django side.

The import graph is read from the sources (every ``import``, also those inside functions, but
not those under ``TYPE_CHECKING``), so a lazy import cannot hide a cycle or a layer crossed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.test_public_api import run_python

PACKAGE = Path(__file__).resolve().parent.parent / "django_redbeat"

#: Imported by every side; they import nothing of ours but each other.
SHARED = {"exceptions", "defaults", "schedules", "decoder", "signals"}
#: The public front doors of the beat side: the package (lazy names) and ``schedulers``.
BEAT_FRONT = {"__init__", "schedulers"}
#: Layers, lowest first: a module may import its own layer and those below, never above.
LAYERS = ("shared", "store", "beat", "django")
#: The one piece of Django the shared modules use: ConfigurationError is an ImproperlyConfigured.
DJANGO_ALLOWED_BELOW = {"django.core.exceptions"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:] or ["__init__"]
    if parts[0] in ("store", "beat"):
        return parts[0]
    if parts[0] in BEAT_FRONT:
        return "beat"
    return "shared" if len(parts) == 1 and parts[0] in SHARED else "django"


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules ``path`` imports: ours (resolved to modules) and others (as written)."""
    found: set[str] = set()
    stack: list[ast.AST] = [ast.parse(path.read_text())]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
        stack.extend(ast.iter_child_nodes(node))
    return found


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), and self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges.get(node, ()):
            if other not in edges:
                continue
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_lazy_imports():
    edges = graph()
    # run_loop imports get_redis at the top; the admin imports the scheduler's modules lazily
    assert "django_redbeat.store.connection" in edges["django_redbeat.beat.run_loop"]
    assert "django_redbeat.beat.scheduler" in edges["django_redbeat"]  # inside __getattr__


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def crossings(edges: dict[str, set[str]]) -> list[str]:
    found = []
    for module, imported in sorted(edges.items()):
        rank = LAYERS.index(layer_of(module))
        for other in sorted(imported):
            if other.startswith("django_redbeat"):
                if LAYERS.index(layer_of(other)) > rank:
                    found.append(f"{module} ({layer_of(module)}) imports {other}")
            elif (
                other.split(".")[0] == "django"
                and rank < LAYERS.index("django")
                and other not in DJANGO_ALLOWED_BELOW
            ):
                found.append(f"{module} ({layer_of(module)}) imports {other}")
    return found


def test_beat_and_store_never_import_the_django_side():
    assert crossings(graph()) == []


def test_a_crossing_is_reported():
    edges = {
        "django_redbeat.store.keys": {"django_redbeat.beat.entry", "django.db"},
        "django_redbeat.beat.entry": {"django_redbeat.models"},
        "django_redbeat.models": {"django_redbeat.beat.entry", "django.db"},
    }
    assert crossings(edges) == [
        "django_redbeat.beat.entry (beat) imports django_redbeat.models",
        "django_redbeat.store.keys (store) imports django.db",
        "django_redbeat.store.keys (store) imports django_redbeat.beat.entry",
    ]


def test_no_module_over_300_lines():
    long = {
        name: lines
        for name, path in all_modules().items()
        if (lines := len(path.read_text().splitlines())) > 300 and ".migrations." not in name
    }
    assert long == {}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_the_beat_side_loads_no_django_settings_apps_or_orm(redis_url, redis_client):
    # redis_client empties Redis: an entry a test before left due would be sent, and the
    # memory broker keeps that send from waiting for a broker that is not there
    beat_side = sorted(
        name for name in all_modules() if layer_of(name) in ("shared", "store", "beat")
    )
    result = run_python(
        "import importlib, sys\n"
        f"for name in {beat_side!r}:\n"
        "    importlib.import_module(name)\n"
        "from celery import Celery\n"
        "from django_redbeat.schedulers import RedBeatScheduler\n"
        "app = Celery('plain', set_as_current=False)\n"
        f"app.conf.update(redbeat_redis_url={redis_url!r}, broker_url='memory://')\n"
        "app.conf.beat_schedule = {'job': {'task': 't', 'schedule': 1.0}}\n"
        "scheduler = RedBeatScheduler(app=app, lazy=False)\n"
        "scheduler.tick()\n"
        "scheduler.close()\n"
        "loaded = [m for m in ('django.conf', 'django.apps', 'django.db') if m in sys.modules]\n"
        "print('loaded:', loaded)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "loaded: []" in result.stdout


def test_the_readme_tree_names_every_module():
    """README.rst's "How it is built" draws the package one line per module: a new module that
    is not on it leaves the map wrong for the next reader."""
    readme = (PACKAGE.parent / "README.rst").read_text()
    tree = readme.split("How it is built", 1)[1].split("From an admin save", 1)[0]
    missing = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
        and not {"migrations", "management"} & set(path.relative_to(PACKAGE).parts)
        and path.name not in tree
    ]
    assert missing == []
