"""The example project: .env.example lists what its settings read, and its jobs share SQLite
without `database is locked`."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from example_project.demo import HERE, REPO

SETTINGS = HERE / "example" / "settings.py"
ENV_EXAMPLE = HERE / ".env.example"


def settings_variables() -> set[str]:
    """The variables example/settings.py reads: every ``env(...)`` and ``env.<cast>(...)``."""
    found = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        function, name = node.func, node.args[0]
        called_env = isinstance(function, ast.Name) and function.id == "env"
        called_cast = isinstance(function, ast.Attribute) and getattr(function.value, "id", "")
        if (called_env or called_cast == "env") and isinstance(name, ast.Constant):
            found.add(name.value)
    return found


def demo_variables() -> set[str]:
    """The variables demo.py reads itself: ``os.environ.get("DEMO_...")``."""
    return set(re.findall(r'os\.environ\.get\("(\w+)"', (HERE / "demo.py").read_text()))


def listed_variables() -> set[str]:
    """NAME=value lines of .env.example, also those commented out (no fixed default)."""
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))


def test_the_settings_reads_are_found():
    # the parser must see the reads the issue found missing, or the next test proves nothing
    assert {"REDBEAT_REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "DEBUG"} <= (
        settings_variables()
    )
    assert "DEMO_PORT" in demo_variables()


def test_env_example_lists_every_variable_read():
    missing = (settings_variables() | demo_variables()) - listed_variables()
    assert not missing, f"not in example_project/.env.example: {sorted(missing)}"


def run_example(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("REDBEAT")}
    env.update(
        DJANGO_SETTINGS_MODULE="example.settings",
        DATABASE_URL=f"sqlite:///{database}",
        PYTHONPATH=os.pathsep.join([str(HERE), str(REPO)]),
    )
    return subprocess.run(
        [sys.executable, *args], cwd=HERE, env=env, capture_output=True, text=True, timeout=120
    )


def test_jobs_running_at_the_same_moment_never_find_the_database_locked(tmp_path):
    database = tmp_path / "db.sqlite3"
    migrated = run_example(database, "manage.py", "migrate", "--noinput", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr
    result = run_example(database, str(REPO / "tests" / "example" / "jobs_at_once.py"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert sum(report["counts"].values()) == 8 * 15  # THREADS * RUNS: no run lost
    assert report["journal_mode"] == "wal"
