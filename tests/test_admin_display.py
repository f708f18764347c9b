"""The admin list's cells: times to the second for schedules within the hour, how far they are,
the schedule in words with the raw expression in its title."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.urls import reverse

from django_redbeat import admin_display
from django_redbeat.decoder import dumps
from django_redbeat.models import PeriodicTask
from tests.django_fixtures import make_task

UTC = timezone.utc
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (4, "in 4 s"), (-12, "12 s ago"), (0, "now"), (200, "in 3 min 20 s"),
        (-7500, "2 h 5 min ago"), (90061, "in 1 d 1 h"),
    ],
)  # fmt: skip
def test_relative(seconds, text):
    assert admin_display.relative(timedelta(seconds=seconds)) == text


def test_relative_without_seconds_keeps_them_under_a_minute():
    assert admin_display.relative(timedelta(seconds=200), seconds=False) == "in 3 min"
    assert admin_display.relative(timedelta(seconds=30), seconds=False) == "in 30 s"


def test_time_cell():
    cell = admin_display.time_cell(NOW + timedelta(seconds=4), NOW, seconds=True)
    assert 'title="2026-01-15 12:00:04 UTC">12:00:04</time>' in cell
    assert '<span class="redbeat-relative">in 4 s</span>' in cell
    assert ">12:00</time>" in admin_display.time_cell(NOW, NOW, seconds=False)
    tomorrow = admin_display.time_cell(NOW + timedelta(days=1), NOW, seconds=False)
    assert ">Jan 16 12:00</time>" in tomorrow
    next_year = admin_display.time_cell(NOW + timedelta(days=365), NOW, seconds=True)
    assert ">2027-01-15 12:00:00</time>" in next_year


@pytest.mark.parametrize(
    ("fields", "within"),
    [
        ({"every": 10, "period": "seconds"}, True),
        ({"every": 59, "period": "minutes"}, True),
        ({"every": 1, "period": "hours"}, False),
        ({"kind": "crontab"}, True),
        ({"kind": "crontab", "minute": "0"}, False),
        ({"kind": "rrule", "rrule": "FREQ=MINUTELY;INTERVAL=2"}, True),
        ({"kind": "rrule", "rrule": "FREQ=DAILY"}, False),
        ({"kind": "oneoff", "run_at": NOW}, False),
    ],
)  # fmt: skip
def test_repeats_within_the_hour(celery_app, fields, within):
    row = PeriodicTask(name="job", task="tests.add", **{"kind": "interval", **fields})
    assert admin_display.repeats_within_the_hour(row, celery_app) is within


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("django_celery_app")
def test_the_list_shows_words_seconds_and_how_far(admin_client, redis_client):
    make_task(name="heartbeat", every=10, period="seconds")
    make_task(name="nightly", kind="crontab", minute="0", hour="3", every=None, period="")
    last_run = NOW - timedelta(seconds=12)
    meta = dumps({"last_run_at": last_run, "total_run_count": 3})
    redis_client.hset("redbeat:heartbeat", "meta", meta)
    redis_client.zadd("redbeat::schedule", {"redbeat:heartbeat": NOW.timestamp() + 4})
    content = admin_client.get(reverse("admin:django_redbeat_periodictask_changelist")).content
    content = content.decode()
    assert '<span class="redbeat-schedule" title="every=10 period=seconds">Every 10 seconds' in (
        content
    )
    assert 'title="cron 0 3 * * * (minute hour day-of-month month day-of-week)">At 03:00<' in (
        content
    )
    assert '>12:00:04</time> <span class="redbeat-relative">in 4 s</span>' in content
    assert '11:59:48</time> <span class="redbeat-relative">12 s ago</span>' in content
    assert '>Jan 16 03:00</time> <span class="redbeat-relative">in 15 h</span>' in content
