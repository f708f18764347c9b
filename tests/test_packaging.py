"""setup.cfg's classifiers say what the version matrix (noxfile.py) tests, no more and no less."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def classified(prefix: str) -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["metadata"]["classifiers"].strip().splitlines()
    return {line.removeprefix(prefix).strip() for line in lines if line.startswith(prefix)}


def matrix() -> list[tuple[str, ...]]:
    """noxfile.COMBOS, read from the source: nox is not installed in the test environment."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(getattr(target, "id", None) == "COMBOS" for target in targets):
                return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py has no COMBOS")


def test_the_python_classifiers_are_the_pythons_the_matrix_runs():
    tested = {python for python, *_ in matrix()}
    assert classified("Programming Language :: Python :: ") - {"3", "3 :: Only"} == tested


def test_the_django_classifiers_are_the_djangos_the_matrix_runs():
    tested = {django for _, django, *_ in matrix()}
    assert classified("Framework :: Django :: ") == tested


def test_a_wheel_builds_without_warnings_and_carries_the_templates_and_static(tmp_path):
    """find_namespace: the template and static folders have no __init__.py; plain find: left
    them to package_data with a "Package would be ignored" warning for each."""
    command = [sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "-w", str(tmp_path)]
    build = subprocess.run([*command, str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    assert "would be ignored" not in build.stdout + build.stderr
    (wheel,) = tmp_path.glob("django_redbeat-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in (ROOT / "django_redbeat").rglob("*"):
        if source.suffix in {".html", ".js", ".css", ".py"} and "__pycache__" not in source.parts:
            assert source.relative_to(ROOT).as_posix() in names
