"""Sentry Crons (sentry-sdk's ``CeleryIntegration(monitor_beat_tasks=True)``) monitors what this
scheduler sends: a real beat (``celery beat -S`` or ``redbeat_run``) and a real worker, with
sentry-sdk writing its check-ins to files (tests/system/sentry_capture.py), no network.

Beat sends the ``in_progress`` check-in as it sends a run; the worker sends ``ok`` or ``error``
for it when the task ends, under the same check-in id.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from celery import Celery
from celery.schedules import schedule, solar

from django_redbeat.schedulers import RedBeatSchedulerEntry
from django_redbeat.schedules import crontab, oneoff, rrule
from support.processes import (
    ROOT,
    BeatProcess,
    RedbeatRunProcess,
    WorkerProcess,
    django_command,
    wait_for,
)  # fmt: skip
from tests.system.sentry_capture import DIRECTORY_VARIABLE, check_ins

pytestmark = pytest.mark.system

PROJECT = "tests.system.sentry_project"
SETTINGS = "tests.system.sentry_settings"
QUICK = "sentry_project.quick"
#: When each entry last ran: a day ago, so that every one is due at once.
YESTERDAY = datetime.now(timezone.utc) - timedelta(days=1)
#: The entries: name -> (task, schedule).
ENTRIES = {
    "every-minute": (QUICK, crontab()),
    "paris-mornings": (QUICK, crontab(minute="30", hour="7", timezone="Europe/Paris")),
    "hourly": (QUICK, schedule(timedelta(hours=1))),
    "failing": ("sentry_project.boom", crontab(minute="*/10")),
    # sent and run, not monitored: Sentry has no words for these
    "half-minute": (QUICK, schedule(timedelta(seconds=30))),
    "rrule": (QUICK, rrule("HOURLY", dtstart=YESTERDAY)),
    "once": (QUICK, oneoff(YESTERDAY)),
    "paris-sunsets": (QUICK, solar("sunset", 48.86, 2.35)),  # one in every 24 hours: due
}
#: The monitors Sentry makes of them: slug -> its monitor config.
MONITORS = {
    "every-minute": {"schedule": {"type": "crontab", "value": "* * * * *"}, "timezone": "UTC"},
    "paris-mornings": {
        "schedule": {"type": "crontab", "value": "30 7 * * *"},
        "timezone": "Europe/Paris",
    },
    "hourly": {"schedule": {"type": "interval", "value": 1, "unit": "hour"}, "timezone": "UTC"},
    "failing": {"schedule": {"type": "crontab", "value": "*/10 * * * *"}, "timezone": "UTC"},
}
UNMONITORED = sorted(set(ENTRIES) - set(MONITORS))


@pytest.fixture
def entries(redis_server, redis_client):
    """ENTRIES in Redis, written as an app that is not beat's writes them."""
    app = Celery("writer", set_as_current=False)
    app.conf.update(broker_url="memory://", redbeat_redis_url=redis_server.url)
    for name, (task, when) in ENTRIES.items():
        last_run_at = None if isinstance(when, oneoff) else YESTERDAY
        RedBeatSchedulerEntry(name, task, when, last_run_at=last_run_at, app=app).save()
    yield
    app.close()


@pytest.fixture
def environment(redis_server, broker_url, tmp_path):
    """What every process of the test gets: the Redis, the broker, the capture folder."""
    capture = tmp_path / "sentry"
    capture.mkdir()
    return {
        "BEAT_PROJECT_BROKER_URL": broker_url,
        "BEAT_PROJECT_REDIS_URL": redis_server.url,
        "SENTRY_TEST_DATABASE": str(tmp_path / "db.sqlite3"),
        DIRECTORY_VARIABLE: str(capture),
    }


@pytest.fixture
def processes(redis_server, broker_url, tmp_path, environment):
    started = []

    def start(kind, project=PROJECT):
        process = kind(tmp_path, redis_server.url, broker_url, project, **environment)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def manage(environment, *arguments):
    """A management command run to its end under the Django settings of the redbeat_run test."""
    env = {**os.environ, **environment, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        django_command(SETTINGS, *arguments), env=env, cwd=ROOT, check=True,
        capture_output=True, timeout=120,
    )  # fmt: skip


def start_celery_beat(processes, environment):
    return processes(BeatProcess)


def start_redbeat_run(processes, environment):
    """redbeat_run reads its database when it takes the lock: one of its own, migrated."""
    manage(environment, "migrate", "--verbosity", "0")
    return processes(RedbeatRunProcess, SETTINGS)


def runs(check_ins_seen, slug):
    """slug's check-ins by check-in id: {id: {status: check-in}}."""
    found: dict[str, dict[str, dict]] = {}
    for check_in in check_ins_seen:
        if check_in["monitor_slug"] == slug:
            found.setdefault(check_in["check_in_id"], {})[check_in["status"]] = check_in
    return found


def ended_runs(directory, slug, end):
    """slug's runs that have their in_progress and their ``end`` check-in, once there is one."""
    seen = runs(check_ins(directory), slug)
    return [run for run in seen.values() if {"in_progress", end} <= set(run)]


def outcomes(redis_client, name):
    history = redis_client.lrange(f"redbeat::history:{name}", 0, -1)
    return [json.loads(record)["outcome"] for record in history]


@pytest.mark.parametrize("start_beat", [start_celery_beat, start_redbeat_run])
def test_sentry_crons_sees_each_run_beat_sends(
    entries, processes, environment, redis_client, start_beat
):
    capture = Path(environment[DIRECTORY_VARIABLE])
    worker = processes(WorkerProcess)
    beat = start_beat(processes, environment)

    for slug, config in MONITORS.items():
        end = "error" if slug == "failing" else "ok"
        [run, *_] = wait_for(
            lambda slug=slug, end=end: ended_runs(capture, slug, end), 60, f"{slug}'s check-ins"
        )
        started, ended = run["in_progress"], run[end]
        assert started["monitor_config"] == config == ended["monitor_config"]
        assert started["pid"] == beat.pid  # beat checks in as it sends the run
        assert ended["pid"] != beat.pid  # the worker, as the task ends
        assert ended["duration"] >= 0  # from the start time beat put in the message
    # a run went out once for its slot: one in_progress for the hourly entry
    assert len(runs(check_ins(capture), "hourly")) == 1
    # beat's own headers reached the worker beside Sentry's: the hook recorded every run
    for name in ("every-minute", "hourly", *UNMONITORED):
        wait_for(lambda name=name: "succeeded" in outcomes(redis_client, name), 30, name)
    assert "failed" in outcomes(redis_client, "failing")
    seen = {check_in["monitor_slug"] for check_in in check_ins(capture)}
    assert seen == set(MONITORS)
    assert "Task sentry_project.boom" in worker.log()
    assert "Scheduler: Sending due task hourly (sentry_project.quick)" in beat.log()
