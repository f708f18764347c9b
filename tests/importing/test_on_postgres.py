"""``redbeat_import --from-django-celery-beat`` on PostgreSQL: django-celery-beat's migrations and
ours on a throwaway cluster, the import run in a process of its own (on_postgres.py), Redis read
here. Skipped, with the reason, where no cluster can be started or psycopg is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from django.apps import apps

from django_redbeat.decoder import to_timestamp
from support.postgres_server import PostgresServer, unavailable

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def postgres():
    pytest.importorskip("psycopg", reason="psycopg is not installed: no PostgreSQL tests")
    if not apps.is_installed("django_celery_beat"):
        pytest.skip("django-celery-beat is not installed (its 2.9.0 supports Django < 6.1)")
    reason = unavailable()
    if reason:
        pytest.skip(f"no PostgreSQL cluster can be started here: {reason}")
    server = PostgresServer()
    try:
        server.start()
    except RuntimeError as exc:  # initdb or pg_ctl failed: what they said is the reason
        server.stop()
        pytest.skip(f"PostgreSQL did not start here: {exc}")
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


def test_the_import_on_postgresql(postgres, redis_client, redis_url):
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "tests.importing.postgres_settings",
        "REDBEAT_TEST_POSTGRES": json.dumps(postgres.settings),
        "REDBEAT_TEST_REDIS_URL": redis_url,
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tests.importing.on_postgres"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["vendor"] == "postgresql"
    first, second = found["runs"]
    assert (
        "Read 5 django-celery-beat tasks: 4 created, 1 invalid; run state carried into"
        in (first["out"])
    )
    assert "error    mars: timezone: 'Mars/Olympus_Mons' is not an IANA time zone" in first["err"]
    assert first["failed"] == second["failed"] == "1 tasks could not be copied (see above)."
    assert "Read 5 django-celery-beat tasks: 4 unchanged, 1 invalid." in second["out"]
    tasks = {task["name"]: task for task in found["tasks"]}
    assert sorted(tasks) == ["hourly", "once", "paris", "sunrise"]
    assert (tasks["paris"]["kind"], tasks["paris"]["timezone"]) == ("crontab", "Europe/Paris")
    assert (tasks["hourly"]["args"], tasks["hourly"]["queue"]) == ([1, 2], "reports")
    assert tasks["once"]["kind"] == "oneoff"
    # the run state reached Redis: due an hour after the last run in django-celery-beat
    last_run_at = datetime.fromisoformat(found["last_run_at"])
    meta = json.loads(redis_client.hget("redbeat:hourly", "meta"))
    assert meta["total_run_count"] == 7
    score = redis_client.zscore("redbeat::schedule", "redbeat:hourly")
    assert score == to_timestamp(last_run_at) + 3600
    assert redis_client.exists("redbeat:paris", "redbeat:once", "redbeat:sunrise") == 3
