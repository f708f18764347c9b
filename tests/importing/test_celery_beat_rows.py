"""django-celery-beat's rows read as our task's fields (importing/celery_beat_rows.py), including
rows its own save() would refuse but its tables can hold (raw SQL, ``update()``)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_redbeat.importing import celery_beat_rows
from tests.importing.celery_beat_rows import beat, crontab, interval, old_task

pytestmark = pytest.mark.django_db


def read(name: str) -> celery_beat_rows.CeleryBeatRow:
    return {row.name: row for row in celery_beat_rows.read_rows()}[name]


def test_a_row_with_two_schedules_or_none_is_named_with_the_fields():
    both = old_task("both")
    beat.PeriodicTask.objects.filter(pk=both.pk).update(crontab=crontab(minute="5"))
    none = old_task("none")
    beat.PeriodicTask.objects.filter(pk=none.pk).update(interval=None)
    assert read("both").error == "interval and crontab are both set: a task has one schedule"
    assert read("none").error == "no schedule: none of interval, crontab, solar and clocked is set"
    assert read("both").given is None


def test_empty_json_fields_are_their_empty_values():
    task = old_task("blank", args="", kwargs=" ")
    beat.PeriodicTask.objects.filter(pk=task.pk).update(headers="")
    given = read("blank").given
    assert (given["args"], given["kwargs"], given["headers"]) == ([], {}, {})


def test_null_routing_options_become_blank_fields():
    old_task("plain")  # django-celery-beat saves an unset queue, exchange and routing key as NULL
    given = read("plain").given
    assert (given["queue"], given["exchange"], given["routing_key"]) == ("", "", "")
    # no start_time, expires or one_off: no policy
    assert not {"start_time", "end_time", "max_runs", "extra_options"} & set(given)


def test_a_crontabs_zone_is_dropped_when_django_celery_beat_ignores_it():
    old_task("zoned", crontab=crontab(minute="0", hour="9", timezone="Asia/Tokyo"))
    assert read("zoned").given["timezone"] == "Asia/Tokyo"
    with override_settings(DJANGO_CELERY_BEAT_TZ_AWARE=False):
        assert read("zoned").given["timezone"] == ""  # Celery's zone, as there


def test_intervals_keep_their_period_and_microseconds_become_seconds():
    old_task("days", interval=interval(3, "days"))
    old_task("us", interval=interval(120_000_000, "microseconds"))
    assert (read("days").given["every"], read("days").given["period"]) == (3, "days")
    assert (read("us").given["every"], read("us").given["period"]) == (120, "seconds")


def test_the_run_state_is_read_with_the_row():
    old_task("ran", total_run_count=5)
    assert (read("ran").total_run_count, read("ran").last_run_at) == (5, None)
