"""setup.cfg's classifiers say what the version matrix (noxfile.py) tests, no more and no less."""

from __future__ import annotations

import ast
import configparser
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
