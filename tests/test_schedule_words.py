"""Every schedule kind in words, and as written (the admin list's title)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from django_redbeat.models import PeriodicTask
from django_redbeat.schedule_words import describe, raw

UTC = timezone.utc


def task(**fields) -> PeriodicTask:
    return PeriodicTask(name="job", task="tests.add", **fields)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"kind": "interval", "every": 1, "period": "hours"}, "Every hour"),
        ({"kind": "interval", "every": 10, "period": "seconds"}, "Every 10 seconds"),
        ({"kind": "crontab"}, "Every minute"),
        ({"kind": "crontab", "minute": "*/15"}, "Every 15 minutes"),
        ({"kind": "crontab", "minute": "0", "hour": "9", "day_of_week": "mon-fri",
          "timezone": "Asia/Tokyo"}, "At 09:00, Monday through Friday (Asia/Tokyo)"),
        ({"kind": "crontab", "minute": "30", "hour": "7", "day_of_month": "1"},
         "At 07:30, on day 1 of the month"),
        ({"kind": "rrule", "rrule": "FREQ=MINUTELY;INTERVAL=2;BYSECOND=0"},
         "Every 2 minutes, at second 0"),
        ({"kind": "rrule", "rrule": "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0",
          "timezone": "Europe/Paris"},
         "Every week, on Monday and Friday, at 09:00 (Europe/Paris)"),
        ({"kind": "rrule", "rrule": "FREQ=MONTHLY;BYDAY=-1FR,+2MO;BYHOUR=17;BYMINUTE=30;COUNT=3"},
         "Every month, on the last Friday and the 2nd Monday, at 17:30, 3 times"),
        ({"kind": "rrule", "rrule": "FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1;UNTIL=20301231T000000Z"},
         "Every year, in January and July, on day 1 of the month, until 2030-12-31 00:00:00"),
        ({"kind": "rrule", "rrule": "FREQ=DAILY;BYHOUR=9,21"}, "Every day, at hour 9 and 21"),
        ({"kind": "solar", "solar_event": "dawn_civil", "latitude": 48.85, "longitude": 2.35},
         "At dawn civil, 48.85° 2.35°"),
        ({"kind": "oneoff", "run_at": datetime(2026, 3, 1, 8, tzinfo=UTC)},
         "Once, at 2026-03-01 08:00:00 UTC"),
    ],
)  # fmt: skip
def test_each_kind_in_words(fields, words):
    assert describe(task(**fields)) == words


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"kind": "interval", "every": 10, "period": "seconds"}, "every=10 period=seconds"),
        ({"kind": "crontab", "minute": "0", "hour": "9", "day_of_week": "1-5"},
         "cron 0 9 * * 1-5 (minute hour day-of-month month day-of-week)"),
        ({"kind": "rrule", "rrule": "FREQ=DAILY"}, "RRULE:FREQ=DAILY"),
        ({"kind": "solar", "solar_event": "sunset", "latitude": 1.5, "longitude": 2.0},
         "solar sunset 1.5 2.0"),
        ({"kind": "oneoff", "run_at": datetime(2026, 3, 1, 8, tzinfo=UTC)},
         "one-off 2026-03-01T08:00:00+00:00"),
    ],
)  # fmt: skip
def test_each_kind_as_written(fields, text):
    assert raw(task(**fields)) == text


def test_an_unreadable_rule_is_shown_as_written():
    assert describe(task(kind="rrule", rrule="BYDAY=MO")) == "RRULE:BYDAY=MO"
