"""Helpers for the tests of ``redbeat_import --from-django-celery-beat``: django-celery-beat's
rows made through its own models (its real tables, made by its migrations), the command run, and
what Redis then holds."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from django_redbeat.beat.entry import RedBeatSchedulerEntry

if not apps.is_installed("django_celery_beat"):
    pytest.skip(
        "django-celery-beat is not installed (its 2.9.0 supports Django < 6.1): "
        "`redbeat_import --from-django-celery-beat` is not tested here",
        allow_module_level=True,
    )

from django_celery_beat import models as beat  # noqa: E402


def interval(every: int = 10, period: str = "minutes") -> Any:
    return beat.IntervalSchedule.objects.create(every=every, period=period)


def crontab(**fields: Any) -> Any:
    return beat.CrontabSchedule.objects.create(**fields)


def old_task(name: str, **fields: Any) -> Any:
    """A django-celery-beat task, saved as its admin saves one (every 10 minutes unless a
    schedule is given)."""
    if not {"interval", "crontab", "solar", "clocked"} & set(fields):
        fields["interval"] = interval()
    return beat.PeriodicTask.objects.create(
        name=name, task=fields.pop("task", "tests.add"), **fields
    )


def run(*args: str, fails: str | None = None) -> tuple[str, str]:
    """The command's output; with ``fails``, it must end in a CommandError matching it."""
    out, err = StringIO(), StringIO()
    command = ("redbeat_import", "--from-django-celery-beat", *args)
    if fails is None:
        call_command(*command, stdout=out, stderr=err)
    else:
        with pytest.raises(CommandError, match=fails):
            call_command(*command, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stored(app: Any, name: str) -> RedBeatSchedulerEntry:
    return RedBeatSchedulerEntry.from_key("redbeat:" + name, app=app)


def score(redis_client: Any, name: str) -> float | None:
    return redis_client.zscore("redbeat::schedule", "redbeat:" + name)


def meta(redis_client: Any, name: str) -> dict[str, Any]:
    return json.loads(redis_client.hget("redbeat:" + name, "meta"))


def redis_contents(redis_client: Any) -> dict[str, Any]:
    """Every key's value, to tell that a run wrote nothing."""
    found: dict[str, Any] = {}
    for key in sorted(redis_client.keys("*")):
        kind = redis_client.type(key)
        if kind == "hash":
            found[key] = redis_client.hgetall(key)
        elif kind == "zset":
            found[key] = redis_client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            found[key] = sorted(redis_client.smembers(key))
        else:
            found[key] = kind
    return found
