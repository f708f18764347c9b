"""The import surface celery-redbeat users switch to (README.rst, the migration section)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PUBLIC_NAMES = {
    "django_redbeat": ["RedBeatScheduler", "RedBeatSchedulerEntry"],
    "django_redbeat.schedulers": [
        "RedBeatScheduler", "RedBeatSchedulerEntry", "RedBeatConfig", "RetryingConnection",
        "acquire_distributed_beat_lock", "ensure_conf", "get_redis", "logger",
    ],
    "django_redbeat.decoder": [
        "RedBeatJSONEncoder", "RedBeatJSONDecoder", "to_timestamp", "from_timestamp",
    ],
    "django_redbeat.schedules": ["rrule"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC_NAMES))
def test_public_names_import(module):
    imported = __import__(module, fromlist=["_"])

    for name in PUBLIC_NAMES[module]:
        assert getattr(imported, name) is not None, name


def test_the_package_exports_the_same_classes_as_schedulers():
    import django_redbeat
    from django_redbeat import schedulers

    assert django_redbeat.RedBeatScheduler is schedulers.RedBeatScheduler
    assert django_redbeat.RedBeatSchedulerEntry is schedulers.RedBeatSchedulerEntry


def test_the_logger_is_celery_beats():
    from django_redbeat.schedulers import logger

    assert logger.name == "celery.beat"


def test_rrule_keeps_celery_redbeats_attributes():
    from django_redbeat.schedules import rrule

    rule = rrule("DAILY", count=3)

    for name in ("freq", "dtstart", "interval", "wkst", "count", "until", "bysetpos",
                 "bymonth", "bymonthday", "byyearday", "byeaster", "byweekno", "byweekday",
                 "byhour", "byminute", "bysecond"):  # fmt: skip
        assert hasattr(rule, name), name
    assert rule.rrule.count() == 3


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_importing_the_package_imports_neither_celery_nor_settings():
    result = run_python(
        "import sys, django_redbeat\n"
        "assert 'celery' not in sys.modules, 'celery imported'\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
    )
    assert result.returncode == 0, result.stderr


def test_works_in_a_plain_celery_app_without_django_settings(redis_url):
    result = run_python(
        "from datetime import timedelta\n"
        "from celery import Celery\n"
        "from django_redbeat.schedulers import RedBeatSchedulerEntry\n"
        "app = Celery('plain', set_as_current=False)\n"
        f"app.conf.redbeat_redis_url = {redis_url!r}\n"
        "entry = RedBeatSchedulerEntry('plain', 't', timedelta(seconds=5), app=app).save()\n"
        "print(RedBeatSchedulerEntry.from_key(entry.key, app=app).schedule)\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
    )
    assert result.returncode == 0, result.stderr
    assert "<freq: 5.00 seconds>" in result.stdout
