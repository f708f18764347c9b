"""Run celery-redbeat 2.4.2's own unit tests against django_redbeat: ``make compat``.

What a switching user does, done to the tests: ``redbeat`` is aliased onto ``django_redbeat``
(``redbeat.schedulers`` is ``django_redbeat.schedulers``, and so on), so every import and every
``mock.patch("redbeat...")`` reaches our modules. The tests are fetched from the sdist at run
time into ``.compat/`` (never committed). Their ``fakeredis`` is replaced by a real redis-server:
``FakeServer`` is a server of ours, ``FakeRedis`` a plain redis-py client to it, so the
suite runs against the Redis users run. COMPATIBILITY.rst lists what still fails and why.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

VERSION = "2.4.2"
ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".compat"
SUITE = WORK / f"celery_redbeat-{VERSION}"
#: What the suite imports beyond our own dependencies (its requirements-dev.txt, less fakeredis).
SUITE_NEEDS = ["pytz"]

CONFTEST = '''\
"""Written by tests/compat/celery_redbeat_suite.py: redbeat is django_redbeat, Redis is real."""

import importlib
import sys
import types

import redis

from support.redis_server import RedisServer

for name in ("", ".decoder", ".schedulers", ".schedules"):
    sys.modules["redbeat" + name] = importlib.import_module("django_redbeat" + name)

_servers = []


class FakeServer:
    """One real redis-server per test run, shared as fakeredis shares its server per test."""

    def __init__(self):
        if not _servers:
            import tempfile

            server = RedisServer(__import__("pathlib").Path(tempfile.mkdtemp()))
            server.start()
            _servers.append(server)
        self.url = _servers[0].url


def FakeRedis(decode_responses=False, server=None, **options):
    return redis.Redis.from_url((server or FakeServer()).url, decode_responses=decode_responses)


sys.modules["fakeredis"] = types.ModuleType("fakeredis")
sys.modules["fakeredis"].FakeServer = FakeServer
sys.modules["fakeredis"].FakeRedis = FakeRedis


def pytest_sessionfinish(session):
    for server in _servers:
        server.stop()
'''


def fetch() -> Path:
    """The sdist's tests/ folder, downloaded once into .compat/."""
    if not (SUITE / "tests").is_dir():
        WORK.mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", f"celery-redbeat=={VERSION}", "--dest", str(WORK)],
            check=True,
        )  # fmt: skip
        with tarfile.open(WORK / f"celery_redbeat-{VERSION}.tar.gz") as sdist:
            members = [m for m in sdist.getmembers() if "/tests/" in m.name]
            sdist.extractall(WORK, members=members, filter="data")
    (SUITE / "conftest.py").write_text(CONFTEST)
    # the sdist's own pytest configuration is empty: keep ours (warnings as errors) out of it
    (SUITE / "pytest.ini").write_text("[pytest]\n")
    return SUITE


def run(suite: Path) -> dict[str, list[str]]:
    """Run the suite; the outcome of each test, by its node id."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *SUITE_NEEDS], check=True)
    junit = WORK / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:django",
         "-p", "no:cacheprovider", f"--rootdir={suite}", f"--junitxml={junit}", "tests"],
        cwd=suite, env={**_environ(), "PYTHONPATH": f"{suite}:{ROOT}"},
    )  # fmt: skip
    outcomes: dict[str, list[str]] = {"passed": [], "failed": [], "skipped": []}
    for case in ET.parse(junit).iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes["failed"].append(name)
        elif case.find("skipped") is not None:
            outcomes["skipped"].append(name)
        else:
            outcomes["passed"].append(name)
    return outcomes


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def main() -> int:
    outcomes = run(fetch())
    total = sum(len(names) for names in outcomes.values())
    for name in outcomes["failed"]:
        print(f"failed: {name}")
    print(
        f"celery-redbeat {VERSION}'s suite: {len(outcomes['passed'])} of {total} passed, "
        f"{len(outcomes['failed'])} failed, {len(outcomes['skipped'])} skipped by the suite "
        "itself (COMPATIBILITY.rst says why each failure is)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
