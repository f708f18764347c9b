"""Run in a process of its own by test_on_postgres.py, on a throwaway PostgreSQL cluster:
django-celery-beat's migrations and ours, rows made in django-celery-beat's tables through its
models, and ``redbeat_import --from-django-celery-beat`` run twice. Prints what the test checks,
as JSON."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from io import StringIO
from typing import Any

from celery import Celery

app = Celery("on-postgres", set_as_current=False)
app.conf.update(
    broker_url="memory://",
    redbeat_redis_url=os.environ.get("REDBEAT_TEST_REDIS_URL", ""),
    timezone="UTC",
    beat_schedule={},
    result_expires=None,
)


def make_rows(last_run_at: datetime) -> None:
    from django.db import connection
    from django_celery_beat import models as beat

    hourly = beat.IntervalSchedule.objects.create(every=1, period="hours")
    beat.PeriodicTask.objects.create(
        name="hourly", task="tests.add", interval=hourly, last_run_at=last_run_at,
        total_run_count=7, args="[1, 2]", queue="reports",
    )  # fmt: skip
    paris = beat.CrontabSchedule.objects.create(minute="30", hour="7", timezone="Europe/Paris")
    beat.PeriodicTask.objects.create(name="paris", task="tests.add", crontab=paris)
    at = datetime(2030, 6, 1, 8, 0, tzinfo=timezone.utc)
    clocked = beat.ClockedSchedule.objects.create(clocked_time=at)
    beat.PeriodicTask.objects.create(name="once", task="tests.add", clocked=clocked, one_off=True)
    sunrise = beat.SolarSchedule.objects.create(event="sunrise", latitude=48.85, longitude=2.35)
    beat.PeriodicTask.objects.create(name="sunrise", task="tests.add", solar=sunrise)
    mars = beat.CrontabSchedule.objects.create(minute="0", hour="9")
    beat.PeriodicTask.objects.create(name="mars", task="tests.add", crontab=mars)
    with connection.cursor() as cursor:  # a zone tzdata does not know, as raw data can hold
        cursor.execute(
            "UPDATE django_celery_beat_crontabschedule SET timezone = %s WHERE id = %s",
            ["Mars/Olympus_Mons", mars.pk],
        )


def run_import() -> dict[str, str]:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out, err = StringIO(), StringIO()
    try:
        call_command("redbeat_import", "--from-django-celery-beat", stdout=out, stderr=err)
        failed = ""
    except CommandError as exc:
        failed = str(exc)
    return {"out": out.getvalue(), "err": err.getvalue(), "failed": failed}


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from django_redbeat.models import PeriodicTask

    call_command("migrate", verbosity=0)
    last_run_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=20)
    make_rows(last_run_at)
    runs = [run_import(), run_import()]
    fields = ("name", "kind", "timezone", "args", "queue", "source", "run_at")
    tasks: list[dict[str, Any]] = list(PeriodicTask.objects.order_by("name").values(*fields))
    print(json.dumps({
        "vendor": connection.vendor, "last_run_at": last_run_at.isoformat(), "runs": runs,
        "tasks": tasks,
    }, default=str))  # fmt: skip


if __name__ == "__main__":
    main()
