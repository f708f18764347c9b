"""RedBeat JSON: round trips, celery-redbeat 2.4 wire compatibility (both ways), errors.

celery-redbeat 2.4.2 (``redbeat``) is installed for these tests only: its encoder and decoder are
the reference for the wire format, and a few payloads it printed are kept below as literals.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redbeat.decoder
import redbeat.schedules
from celery import Celery
from celery.schedules import crontab as celery_crontab
from celery.schedules import schedule, solar
from dateutil.rrule import FR, MO, weekday

from django_redbeat.decoder import (
    RedBeatJSONDecoder,
    RedBeatJSONEncoder,
    dumps,
    from_timestamp,
    loads,
    to_timestamp,
)
from django_redbeat.exceptions import DecodeError, EncodeError
from django_redbeat.schedules import crontab, oneoff, rrule

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
IST = timezone(timedelta(hours=5, minutes=30))  # a fixed offset: 19800 s, 330 min
START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class Clock:
    """The time the schedules below see (``APP.now``); only ``upcoming`` moves it."""

    moment = START

    def __call__(self) -> datetime:
        return self.moment


CLOCK = Clock()
APP = Celery("tests.decoder", set_as_current=False)
APP.conf.timezone = "UTC"
APP.now = CLOCK  # type: ignore[method-assign]


def redbeat_dumps(value: Any) -> str:
    return json.dumps(value, cls=redbeat.decoder.RedBeatJSONEncoder)


def redbeat_loads(text: str) -> Any:
    return json.loads(text, cls=redbeat.decoder.RedBeatJSONDecoder)


def round_trip(value: Any) -> Any:
    return loads(dumps(value))


def upcoming(sched: Any, start: datetime = START, count: int = 4) -> list[datetime]:
    """The next ``count`` run times after ``start``, the clock held at each previous run."""
    sched.app = APP
    times, moment = [], start
    for _ in range(count):
        CLOCK.moment = moment
        remaining = sched.remaining_estimate(moment)
        if remaining is None:
            break
        moment = moment + remaining
        times.append(moment.astimezone(UTC))
    return times


# ---- what celery-redbeat 2.4.2 printed (json.dumps(..., cls=redbeat's encoder)) -------------

REDBEAT_DATETIME_ZONE = (
    '{"__type__": "datetime", "year": 2026, "month": 3, "day": 1, "hour": 9, "minute": 30, '
    '"second": 15, "microsecond": 250, "timezone": "Europe/London"}'
)
REDBEAT_DATETIME_NAIVE = (
    '{"__type__": "datetime", "year": 2026, "month": 3, "day": 1, "hour": 9, "minute": 30, '
    '"second": 0, "microsecond": 0, "timezone": "UTC"}'
)
REDBEAT_DATETIME_OFFSET = (
    '{"__type__": "datetime", "year": 2026, "month": 3, "day": 1, "hour": 9, "minute": 30, '
    '"second": 0, "microsecond": 0, "timezone": 19800.0}'
)
REDBEAT_INTERVAL = '{"__type__": "interval", "every": 300.0, "relative": true}'
REDBEAT_CRONTAB = (
    '{"__type__": "crontab", "minute": "*/15", "hour": 9, "day_of_week": "mon-fri", '
    '"day_of_month": "*", "month_of_year": "*"}'
)
REDBEAT_RRULE = (
    '{"__type__": "rrule", "freq": 2, "interval": 1, "wkst": null, "count": 10, '
    '"bysetpos": null, "bymonth": null, "bymonthday": null, "byyearday": null, '
    '"byeaster": null, "byweekno": null, "byweekday": [{"__type__": "weekday", "wkday": 0}, '
    '{"__type__": "weekday", "wkday": 4}], "byhour": null, "byminute": null, '
    '"bysecond": null, "dtstart": 1767603600, "dtstart_tz": 0}'
)
REDBEAT_META = (
    '{"last_run_at": {"__type__": "datetime", "year": 2026, "month": 1, "day": 15, "hour": 12, '
    '"minute": 0, "second": 0, "microsecond": 0, "timezone": 0.0}, "total_run_count": 3}'
)

REDBEAT_RRULE_FIELDS = {
    "freq": "WEEKLY",
    "dtstart": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    "byweekday": [MO, FR],
    "count": 10,
}

# name -> (what celery-redbeat printed, the value it encoded, the same value built here)
REDBEAT_PRINTED = {
    "datetime zone": (REDBEAT_DATETIME_ZONE, datetime(2026, 3, 1, 9, 30, 15, 250, tzinfo=LONDON)),
    "datetime naive": (REDBEAT_DATETIME_NAIVE, datetime(2026, 3, 1, 9, 30)),
    "datetime offset": (REDBEAT_DATETIME_OFFSET, datetime(2026, 3, 1, 9, 30, tzinfo=IST)),
    "interval": (REDBEAT_INTERVAL, schedule(timedelta(minutes=5), relative=True)),
    "crontab": (REDBEAT_CRONTAB, celery_crontab(minute="*/15", hour=9, day_of_week="mon-fri")),
    "rrule": (REDBEAT_RRULE, redbeat.schedules.rrule(**REDBEAT_RRULE_FIELDS)),
    "meta": (REDBEAT_META, {"last_run_at": START, "total_run_count": 3}),
}


@pytest.mark.parametrize("name", REDBEAT_PRINTED)
def test_the_literals_are_what_celery_redbeat_writes(name):
    literal, value = REDBEAT_PRINTED[name]

    assert json.loads(redbeat_dumps(value)) == json.loads(literal)


@pytest.mark.parametrize("name", REDBEAT_PRINTED)
def test_we_write_the_literals_as_celery_redbeat_does(name):
    literal, value = REDBEAT_PRINTED[name]
    if isinstance(value, redbeat.schedules.rrule):
        value = rrule(**REDBEAT_RRULE_FIELDS)

    assert json.loads(dumps(value)) == json.loads(literal)


# ---- datetimes -------------------------------------------------------------------------------


def test_a_naive_datetime_is_written_as_utc_and_read_back_aware():
    encoded = json.loads(dumps(datetime(2026, 3, 1, 9, 30)))

    assert encoded["timezone"] == "UTC"
    assert round_trip(datetime(2026, 3, 1, 9, 30)) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_zoneinfo_datetime_is_written_by_its_iana_name():
    value = datetime(2026, 7, 1, 9, 30, 15, 250, tzinfo=LONDON)

    assert json.loads(dumps(value))["timezone"] == "Europe/London"
    back = round_trip(value)
    assert back == value
    assert back.tzinfo == LONDON


def test_a_fixed_offset_datetime_is_written_as_offset_seconds():
    value = datetime(2026, 3, 1, 9, 30, tzinfo=IST)

    assert json.loads(dumps(value))["timezone"] == 19800.0
    back = round_trip(value)
    assert back == value
    assert back.utcoffset() == timedelta(hours=5, minutes=30)


def test_a_utc_datetime_is_written_as_offset_zero():
    assert json.loads(dumps(START))["timezone"] == 0.0
    assert round_trip(START) == START
    assert round_trip(START).utcoffset() == timedelta(0)


def test_the_second_pass_of_a_repeated_hour_keeps_its_instant():
    # 2026-10-25 01:30 happens twice in London; fold=1 is the later one (GMT, not BST)
    second = datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON)

    back = round_trip(second)

    assert back.utcoffset() == timedelta(0)
    assert back.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert redbeat_loads(dumps(second)).utcoffset() == timedelta(0)


def test_a_datetime_outside_a_repeated_hour_is_written_without_fold():
    assert "fold" not in json.loads(dumps(datetime(2026, 10, 25, 1, 30, tzinfo=LONDON)))


def test_datetimes_in_nested_values_are_decoded():
    value = {"at": [START, {"when": datetime(2026, 7, 1, tzinfo=LONDON)}], "n": 1}

    assert round_trip(value) == value


# ---- timestamps ------------------------------------------------------------------------------


def test_to_timestamp_reads_a_naive_value_as_utc():
    assert to_timestamp(datetime(2026, 1, 15, 12, 0)) == to_timestamp(START) == 1768478400


def test_to_timestamp_uses_the_offset_and_drops_microseconds():
    value = datetime(2026, 1, 15, 17, 30, 0, 999999, tzinfo=IST)

    assert to_timestamp(value) == 1768478400


def test_from_timestamp_is_utc_unless_given_offset_minutes():
    assert from_timestamp(1768478400) == START
    assert from_timestamp(1768478400).utcoffset() == timedelta(0)
    assert from_timestamp(1768478400, 330).utcoffset() == timedelta(minutes=330)
    assert from_timestamp(1768478400, 330) == START


# ---- intervals, crontabs, rrules -------------------------------------------------------------


@pytest.mark.parametrize("relative", [True, False])
def test_an_interval_round_trips_with_its_relative_flag(relative):
    value = schedule(timedelta(minutes=5), relative=relative)

    back = round_trip(value)

    assert json.loads(dumps(value)) == {
        "__type__": "interval",
        "every": 300.0,
        "relative": relative,
    }
    assert back == value
    assert back.relative is relative


def test_a_crontab_is_written_with_its_values_as_given():
    value = crontab(minute="*/15", hour=9, day_of_week="mon-fri", day_of_month="1-7")

    assert json.loads(dumps(value)) == {
        "__type__": "crontab",
        "minute": "*/15",
        "hour": 9,
        "day_of_week": "mon-fri",
        "day_of_month": "1-7",
        "month_of_year": "*",
    }


@pytest.mark.parametrize(
    "value",
    [
        crontab(),
        crontab(minute=0, hour=9),
        crontab(minute="*/15", hour="9-17", day_of_week="mon-fri"),
        crontab(minute=30, hour=4, day_of_month="1,15", month_of_year="*/3"),
        celery_crontab(minute=5, hour="*/2"),
    ],
    ids=repr,
)
def test_a_crontab_round_trips(value):
    back = round_trip(value)

    assert back == value
    assert back._orig_minute == value._orig_minute
    assert back._orig_hour == value._orig_hour
    assert upcoming(back) == upcoming(value)


def test_a_crontab_given_a_set_is_written_as_a_sorted_list():
    value = celery_crontab(minute={30, 0})

    assert json.loads(dumps(value))["minute"] == [0, 30]
    assert round_trip(value) == value
    assert redbeat_loads(dumps(value)) == value


RRULES = {
    "dtstart": {"freq": "DAILY", "dtstart": datetime(2026, 1, 1, 9, 0, tzinfo=UTC)},
    "until": {
        "freq": "HOURLY",
        "dtstart": datetime(2026, 1, 1, tzinfo=UTC),
        "until": datetime(2026, 1, 15, 14, 0, tzinfo=UTC),
    },
    "count": {"freq": "MINUTELY", "dtstart": START, "count": 3},
    "weekday ints": {
        "freq": "WEEKLY",
        "dtstart": START,
        "byweekday": [0, 4],
        "byhour": 9,
        "byminute": 0,
    },
    "weekday MO": {"freq": "WEEKLY", "dtstart": START, "byweekday": MO},
    "weekday tuple": {"freq": "WEEKLY", "dtstart": START, "byweekday": (MO, FR), "wkst": MO},
    "first monday": {"freq": "MONTHLY", "dtstart": START, "byweekday": MO(+1)},
    "last friday": {"freq": "MONTHLY", "dtstart": START, "byweekday": [FR(-1)], "interval": 2},
    "offset": {"freq": "DAILY", "dtstart": datetime(2026, 1, 1, 9, 0, tzinfo=IST), "bysetpos": 1},
}

WEEKDAYS_WITH_N = {"first monday", "last friday"}


@pytest.mark.parametrize("name", RRULES)
def test_an_rrule_round_trips(name):
    value = rrule(**RRULES[name])

    back = round_trip(value)

    assert back == value
    assert back.dtstart == value.dtstart
    assert back.until == value.until
    assert upcoming(back) == upcoming(value)


def test_an_rrule_keeps_the_n_of_a_weekday():
    back = round_trip(rrule("MONTHLY", dtstart=START, byweekday=MO(+1)))

    assert back.byweekday == MO(+1)
    assert upcoming(back, count=2) == [
        datetime(2026, 2, 2, 12, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
    ]


def test_weekdays_are_written_as_celery_redbeat_writes_them():
    assert json.loads(dumps(MO)) == {"__type__": "weekday", "wkday": 0}
    assert json.loads(dumps(FR(-1))) == {"__type__": "weekday", "wkday": 4, "n": -1}


def test_an_rrule_is_written_with_timestamps_and_offset_minutes():
    value = rrule(
        "DAILY", dtstart=datetime(2026, 1, 1, 9, tzinfo=IST), until=datetime(2026, 2, 1), app=APP
    )

    encoded = json.loads(dumps(value))

    assert encoded["dtstart"] == to_timestamp(datetime(2026, 1, 1, 9, tzinfo=IST))
    assert encoded["dtstart_tz"] == 330
    assert encoded["until"] == to_timestamp(datetime(2026, 2, 1, tzinfo=UTC))
    assert encoded["until_tz"] == 0


# ---- our own types ---------------------------------------------------------------------------


def test_a_crontab_with_its_own_zone_is_written_zoned():
    value = crontab(minute=0, hour=9, timezone="Europe/London")

    assert json.loads(dumps(value)) == {
        "__type__": "zoned",
        "timezone": "Europe/London",
        "schedule": json.loads(dumps(crontab(minute=0, hour=9))),
    }
    assert round_trip(value) == value
    assert round_trip(value).timezone == "Europe/London"


def test_an_rrule_with_its_own_zone_is_written_zoned():
    value = rrule("DAILY", dtstart=datetime(2026, 1, 1, 9, 0), timezone="Europe/London")

    encoded = json.loads(dumps(value))

    assert encoded["__type__"] == "zoned"
    assert encoded["timezone"] == "Europe/London"
    assert encoded["schedule"]["__type__"] == "rrule"
    assert "timezone" not in encoded["schedule"]
    back = round_trip(value)
    assert back == value
    assert back.timezone == "Europe/London"
    assert back.dtstart.tzinfo == LONDON


def test_a_zoned_rrule_keeps_its_wall_clock_time_after_a_round_trip():
    value = rrule("DAILY", dtstart=datetime(2026, 1, 1, 9, 0, tzinfo=LONDON))

    july = upcoming(round_trip(value), start=datetime(2026, 7, 1, tzinfo=UTC), count=1)

    assert july == [datetime(2026, 7, 1, 8, 0, tzinfo=UTC)]  # 09:00 BST


def test_solar_round_trips():
    value = solar("sunrise", 51.5, -0.13)

    assert json.loads(dumps(value)) == {
        "__type__": "solar",
        "event": "sunrise",
        "lat": 51.5,
        "lon": -0.13,
    }
    assert round_trip(value) == value
    assert upcoming(round_trip(value), count=2) == upcoming(value, count=2)


def test_a_oneoff_round_trips_with_its_time_zone():
    value = oneoff(datetime(2026, 7, 1, 9, 0, tzinfo=LONDON))

    back = round_trip(value)

    assert back == value
    assert back.run_at.tzinfo == LONDON


def test_meta_round_trips():
    assert round_trip({"last_run_at": START, "total_run_count": 3}) == {
        "last_run_at": START,
        "total_run_count": 3,
    }
    assert round_trip({"last_run_at": None}) == {"last_run_at": None}


# ---- what celery-redbeat wrote, read here ----------------------------------------------------


def test_we_read_celery_redbeats_datetimes():
    assert loads(REDBEAT_DATETIME_ZONE) == datetime(2026, 3, 1, 9, 30, 15, 250, tzinfo=LONDON)
    assert loads(REDBEAT_DATETIME_ZONE).tzinfo == LONDON
    assert loads(REDBEAT_DATETIME_NAIVE) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert loads(REDBEAT_DATETIME_OFFSET) == datetime(2026, 3, 1, 9, 30, tzinfo=IST)
    assert loads(REDBEAT_DATETIME_OFFSET).utcoffset() == timedelta(minutes=330)


def test_we_read_celery_redbeats_interval():
    value = loads(REDBEAT_INTERVAL)

    assert value == schedule(timedelta(minutes=5))
    assert value.relative is True


def test_we_read_celery_redbeats_crontab():
    value = loads(REDBEAT_CRONTAB)

    assert value == celery_crontab(minute="*/15", hour=9, day_of_week="mon-fri")
    assert value.timezone is None
    assert upcoming(value) == upcoming(redbeat_loads(REDBEAT_CRONTAB))


def test_we_read_celery_redbeats_rrule_with_weekday_objects():
    value = loads(REDBEAT_RRULE)

    assert value.byweekday == [MO, FR]
    assert value.count == 10
    assert upcoming(value, count=12) == upcoming(redbeat_loads(REDBEAT_RRULE), count=12)
    assert len(upcoming(value, start=datetime(2026, 1, 1, tzinfo=UTC), count=12)) == 10


def test_we_read_celery_redbeats_meta():
    assert loads(REDBEAT_META) == {"last_run_at": START, "total_run_count": 3}


def redbeat_rrule(**fields: Any) -> Any:
    return redbeat.schedules.rrule(**fields, app=APP)


@pytest.mark.parametrize("name", RRULES)
def test_rrules_celery_redbeat_writes_load_here_with_the_same_occurrences(name):
    theirs = redbeat_rrule(**RRULES[name])

    ours = loads(redbeat_dumps(theirs))

    assert isinstance(ours, rrule)
    assert upcoming(ours) == upcoming(redbeat_loads(redbeat_dumps(theirs)))


# ---- what we write, read by celery-redbeat ---------------------------------------------------

PLAIN_VALUES = {
    "naive datetime": datetime(2026, 3, 1, 9, 30),
    "zoneinfo datetime": datetime(2026, 7, 1, 9, 30, 15, 250, tzinfo=LONDON),
    "offset datetime": datetime(2026, 3, 1, 9, 30, tzinfo=IST),
    "utc datetime": START,
    "interval": schedule(timedelta(seconds=90)),
    "relative interval": schedule(timedelta(hours=1), relative=True),
    "crontab": crontab(minute="*/15", hour="9-17", day_of_week="mon-fri"),
    "crontab ints": crontab(minute=0, hour=4, day_of_month=1),
    "celery crontab": celery_crontab(minute=30),
    "meta": {"last_run_at": START, "total_run_count": 7},
    "new meta": {"last_run_at": START},
    "weekday": MO,
}


@pytest.mark.parametrize("name", PLAIN_VALUES)
def test_we_write_the_common_subset_as_celery_redbeat_does(name):
    value = PLAIN_VALUES[name]

    assert json.loads(dumps(value)) == json.loads(redbeat_dumps(value))


@pytest.mark.parametrize("name", sorted(set(RRULES) - WEEKDAYS_WITH_N))
def test_we_write_plain_rrules_as_celery_redbeat_does(name):
    # a weekday with n (MO(+1)) is not in the common subset: celery-redbeat drops the n
    fields = RRULES[name]

    assert json.loads(dumps(rrule(**fields))) == json.loads(redbeat_dumps(redbeat_rrule(**fields)))


@pytest.mark.parametrize("name", [name for name in PLAIN_VALUES if "datetime" in name])
def test_celery_redbeat_reads_our_datetimes(name):
    value = PLAIN_VALUES[name]

    assert redbeat_loads(dumps(value)) == loads(dumps(value))


@pytest.mark.parametrize("name", ["interval", "relative interval", "crontab", "crontab ints"])
def test_celery_redbeat_reads_our_schedules_with_the_same_occurrences(name):
    value = PLAIN_VALUES[name]

    theirs = redbeat_loads(dumps(value))

    assert theirs == value
    assert upcoming(theirs) == upcoming(value)


@pytest.mark.parametrize("name", RRULES)
def test_celery_redbeat_reads_our_rrules_with_the_same_occurrences(name):
    value = rrule(**RRULES[name])

    theirs = redbeat_loads(dumps(value))

    assert isinstance(theirs, redbeat.schedules.rrule)
    assert upcoming(theirs) == upcoming(value)


def test_celery_redbeat_reads_its_own_weekday_objects():
    # so writing {"__type__": "weekday", "wkday": N} (and not a plain int) is safe
    theirs = redbeat_rrule(freq="WEEKLY", dtstart=START, byweekday=(MO, FR))

    back = redbeat_loads(redbeat_dumps(theirs))

    assert back.byweekday == [MO, FR]
    assert upcoming(back) == upcoming(theirs)


def test_celery_redbeat_drops_the_n_of_a_weekday_but_reads_ours():
    first_monday = {"freq": "MONTHLY", "dtstart": START, "byweekday": MO(+1)}

    assert redbeat_loads(redbeat_dumps(redbeat_rrule(**first_monday))).byweekday == MO
    assert redbeat_loads(dumps(rrule(**first_monday))).byweekday == MO(+1)


# ---- errors ----------------------------------------------------------------------------------

CRON = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
DAILY = {"__type__": "rrule", "freq": 3, "dtstart": 1767225600, "dtstart_tz": 0}
INTERVAL = {"__type__": "interval", "every": 60.0, "relative": False}
DAY = {"__type__": "datetime", "year": 2026, "month": 1, "day": 1, "timezone": "UTC"}

BAD_PAYLOADS = {
    "bad json": ("{not json", "not JSON"),
    "truncated json": ('{"__type__": "interval", "every": 1', "not JSON"),
    "not utf-8": (b"\xff\xfe\x00", "not JSON"),
    "unknown type": ({"__type__": "martian"}, "unknown __type__ 'martian'"),
    "unhashable type": ({"__type__": ["crontab"]}, "unknown __type__"),
    "crontab minute 99": ({"__type__": "crontab", **CRON, "minute": "99"}, "invalid crontab"),
    "crontab hour 24": ({"__type__": "crontab", **CRON, "hour": 24}, "invalid crontab"),
    "crontab extra field": ({"__type__": "crontab", **CRON, "second": "5"}, "'second'"),
    "crontab app field": ({"__type__": "crontab", **CRON, "app": "x"}, "'app'"),
    "crontab timezone field": ({"__type__": "crontab", "timezone": "UTC"}, "'timezone'"),
    "rrule bad freq name": ({**DAILY, "freq": "FORTNIGHTLY"}, "freq must be one of"),
    "rrule bad freq number": ({**DAILY, "freq": 99}, "freq must be one of"),
    "rrule extra field": ({**DAILY, "colour": "red"}, "'colour'"),
    "rrule without dtstart": ({"__type__": "rrule", "freq": 3}, "dtstart is missing"),
    "rrule bad dtstart": ({**DAILY, "dtstart": "soon"}, "invalid rrule"),
    "datetime missing fields": ({"__type__": "datetime", "year": 2026}, "invalid datetime"),
    "datetime bad zone": ({**DAY, "timezone": "Mars/Olympus"}, "'Mars/Olympus'"),
    "datetime bad day": ({**DAY, "day": 32}, "invalid datetime"),
    "interval without every": ({"__type__": "interval", "relative": False}, "'every'"),
    "interval every a string": ({**INTERVAL, "every": "1m"}, "every must be a number"),
    "zoned interval": (
        {"__type__": "zoned", "timezone": "Europe/London", "schedule": INTERVAL},
        "must hold a crontab or an rrule",
    ),
    "zoned bad zone": (
        {"__type__": "zoned", "timezone": "Nowhere", "schedule": {"__type__": "crontab"}},
        "'Nowhere' is not an IANA time zone name",
    ),
    "zoned without schedule": ({"__type__": "zoned", "timezone": "UTC"}, "'schedule'"),
    "weekday out of range": ({"__type__": "weekday", "wkday": 9}, "wkday must be"),
    "weekday n zero": ({"__type__": "weekday", "wkday": 0, "n": 0}, "invalid weekday"),
    "solar bad event": (
        {"__type__": "solar", "event": "moonrise", "lat": 0, "lon": 0},
        "invalid solar",
    ),
    "solar lat a string": (
        {"__type__": "solar", "event": "sunrise", "lat": "north", "lon": 0},
        "lat must be a number",
    ),
    "oneoff run_at not a datetime": ({"__type__": "oneoff", "run_at": 5}, "must be a datetime"),
    "bad value nested in meta": ({"last_run_at": {"__type__": "datetime"}}, "invalid datetime"),
}


@pytest.mark.parametrize("name", BAD_PAYLOADS)
def test_what_cannot_be_read_raises_decode_error_naming_the_problem(name):
    payload, message = BAD_PAYLOADS[name]
    text = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)

    with pytest.raises(DecodeError) as raised:
        loads(text)

    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_the_decoder_class_raises_decode_error_too():
    with pytest.raises(DecodeError, match="unknown __type__"):
        json.loads('{"__type__": "martian"}', cls=RedBeatJSONDecoder)


@pytest.mark.parametrize(
    "value", [object(), {1, 2}, b"bytes", redbeat_rrule(freq="DAILY", dtstart=START)]
)
def test_what_cannot_be_written_raises_encode_error(value):
    with pytest.raises(EncodeError, match=type(value).__name__) as raised:
        dumps({"args": [value]})

    assert isinstance(raised.value, TypeError)


def test_the_encoder_class_raises_encode_error_too():
    with pytest.raises(EncodeError):
        json.dumps(object(), cls=RedBeatJSONEncoder)


def test_a_decoded_weekday_is_dateutils():
    assert isinstance(loads('{"__type__": "weekday", "wkday": 0}'), weekday)
