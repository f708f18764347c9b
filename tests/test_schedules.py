"""Schedules beyond Celery's own: a crontab in its own zone, rrule, oneoff; and solar.

Every schedule gets ``nowfun`` (a clock held by the test) and an app in UTC: nothing here reads
the real time.
"""

from __future__ import annotations

import copy
import json
import pickle
from datetime import MINYEAR, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import redbeat.decoder
import redbeat.schedules
from celery import Celery
from celery.schedules import crontab as celery_crontab
from celery.schedules import schedstate, solar
from dateutil.rrule import MO

from django_redbeat.decoder import dumps, loads
from django_redbeat.schedules import crontab, oneoff, rrule

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")

APP = Celery("tests.schedules", set_as_current=False)
APP.conf.timezone = "UTC"


def at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def clock(moment: datetime):
    return lambda: moment


def nine_london(now: datetime) -> crontab:
    return crontab(hour=9, minute=0, timezone="Europe/London", nowfun=clock(now), app=APP)


def daily_nine_london(now: datetime) -> rrule:
    start = datetime(2026, 1, 1, 9, 0, tzinfo=LONDON)
    return rrule("DAILY", dtstart=start, nowfun=clock(now), app=APP)


# ---- crontab in its own time zone ------------------------------------------------------------


def test_a_london_crontab_fires_at_nine_utc_in_january():
    yesterday = at(2026, 1, 14, 9, 0)

    assert nine_london(at(2026, 1, 15, 8, 59)).remaining_estimate(yesterday) == timedelta(
        minutes=1
    )
    assert nine_london(at(2026, 1, 15, 8, 59)).is_due(yesterday) == (False, 60)
    assert nine_london(at(2026, 1, 15, 9, 0)).is_due(yesterday) == (True, 86400)


def test_a_london_crontab_fires_at_eight_utc_in_july():
    yesterday = at(2026, 7, 14, 8, 0)

    assert nine_london(at(2026, 7, 15, 7, 59)).remaining_estimate(yesterday) == timedelta(
        minutes=1
    )
    assert nine_london(at(2026, 7, 15, 7, 59)).is_due(yesterday) == (False, 60)
    assert nine_london(at(2026, 7, 15, 8, 0)).is_due(yesterday) == (True, 86400)


def test_a_london_crontab_is_not_due_again_at_nine_utc_in_july():
    ran = at(2026, 7, 15, 8, 0)

    due, _ = nine_london(at(2026, 7, 15, 9, 0)).is_due(ran)

    assert not due
    assert nine_london(at(2026, 7, 15, 9, 0)).remaining_estimate(ran) == timedelta(hours=23)


def test_a_london_crontab_keeps_nine_across_the_spring_change():
    # clocks go forward on 2026-03-29: 09:00 is 09:00 UTC on the 28th, 08:00 UTC on the 29th
    ran = at(2026, 3, 28, 9, 0)

    assert nine_london(at(2026, 3, 28, 9, 0)).remaining_estimate(ran) == timedelta(hours=23)


def test_a_london_crontab_keeps_nine_across_the_autumn_change():
    # clocks go back on 2026-10-25: 09:00 is 08:00 UTC on the 24th, 09:00 UTC on the 25th
    ran = at(2026, 10, 24, 8, 0)

    assert nine_london(at(2026, 10, 24, 8, 0)).remaining_estimate(ran) == timedelta(hours=25)
    assert nine_london(at(2026, 10, 25, 8, 59)).is_due(ran) == (False, 60)


def test_a_crontab_without_zone_uses_the_apps():
    plain = crontab(hour=9, minute=0, nowfun=clock(at(2026, 7, 15, 8, 0)), app=APP)

    assert plain.timezone is None
    assert plain.is_due(at(2026, 7, 14, 9, 0)) == (False, 3600)


def test_a_crontab_takes_a_zoneinfo_as_its_zone():
    assert crontab(hour=9, timezone=LONDON).timezone == "Europe/London"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", timezone(timedelta(hours=1))])
def test_a_crontab_refuses_what_is_not_an_iana_zone(zone):
    with pytest.raises(ValueError, match="not an IANA time zone name"):
        crontab(hour=9, timezone=zone)


def test_crontabs_in_different_zones_differ():
    london = crontab(hour=9, timezone="Europe/London")

    assert london != crontab(hour=9)
    assert crontab(hour=9) != london
    assert london != celery_crontab(hour=9)
    assert celery_crontab(hour=9) != london
    assert london == crontab(hour=9, timezone=LONDON)
    assert crontab(hour=9) == celery_crontab(hour=9)


@pytest.mark.parametrize(
    "duplicate", [copy.copy, copy.deepcopy, lambda c: pickle.loads(pickle.dumps(c))]
)
def test_a_copied_crontab_keeps_its_zone(duplicate):
    london = crontab(minute="*/5", hour=9, timezone="Europe/London")

    assert duplicate(london).timezone == "Europe/London"
    assert duplicate(london) == london


# ---- rrule -----------------------------------------------------------------------------------


def test_a_london_rrule_fires_at_nine_utc_in_january():
    yesterday = at(2026, 1, 14, 9, 0)

    assert daily_nine_london(at(2026, 1, 15, 8, 59)).is_due(yesterday) == (False, 60)
    assert daily_nine_london(at(2026, 1, 15, 9, 0)).is_due(yesterday) == (True, 86400)


def test_a_london_rrule_fires_at_eight_utc_in_july():
    yesterday = at(2026, 7, 14, 8, 0)

    assert daily_nine_london(at(2026, 7, 15, 7, 59)).is_due(yesterday) == (False, 60)
    assert daily_nine_london(at(2026, 7, 15, 8, 0)).is_due(yesterday) == (True, 86400)


def test_a_london_rrule_keeps_nine_after_it_is_stored():
    stored = loads(dumps(daily_nine_london(at(2026, 7, 15, 7, 0))))
    stored.nowfun, stored.app = clock(at(2026, 7, 15, 7, 0)), APP

    assert stored.remaining_estimate(at(2026, 7, 14, 8, 0)) == timedelta(hours=1)


def test_celery_redbeats_stored_rrule_drifts_an_hour_in_july():
    # the contrast: celery-redbeat stores dtstart as a frozen UTC offset (+00:00 in January)
    theirs = redbeat.schedules.rrule("DAILY", dtstart=datetime(2026, 1, 1, 9, 0, tzinfo=LONDON))
    text = json.dumps(theirs, cls=redbeat.decoder.RedBeatJSONEncoder)
    stored = json.loads(text, cls=redbeat.decoder.RedBeatJSONDecoder)
    stored.nowfun, stored.app = clock(at(2026, 7, 15, 7, 0)), APP

    # next run 09:00 UTC, which is 10:00 in London
    assert stored.remaining_estimate(at(2026, 7, 14, 9, 0)) == timedelta(hours=2)


def test_an_rrule_reads_a_naive_dtstart_in_its_zone():
    rule = rrule("DAILY", dtstart=datetime(2026, 7, 1, 9, 0), timezone="Europe/London", app=APP)

    assert rule.dtstart == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert rule.timezone == "Europe/London"


def test_an_rrule_with_dtstart_in_the_future_fires_first_at_dtstart():
    now, start = at(2026, 1, 15, 12, 0), at(2026, 1, 20, 9, 0)
    rule = rrule("DAILY", dtstart=start, nowfun=clock(now), app=APP)

    assert rule.remaining_estimate(now) == start - now
    assert rule.is_due(now) == (False, (start - now).total_seconds())


def test_an_rrule_fires_at_dtstart_when_that_time_comes():
    start = at(2026, 1, 20, 9, 0)
    rule = rrule("DAILY", dtstart=start, nowfun=clock(start), app=APP)

    assert rule.is_due(at(2026, 1, 15, 12, 0)) == (True, 86400)


def test_a_never_run_rrule_fires_first_at_dtstart():
    start = at(2026, 1, 20, 9, 0)
    rule = rrule("DAILY", dtstart=start, nowfun=clock(start), app=APP)

    assert rule.remaining_estimate(datetime(MINYEAR, 1, 2, tzinfo=UTC)) == timedelta(0)


NOON = at(2026, 1, 15, 12, 0)


@pytest.mark.parametrize("now", [NOON, NOON + timedelta(seconds=0.3)], ids=["whole", "fraction"])
def test_an_rrule_without_dtstart_fires_first_within_a_second(now):
    rule = rrule("HOURLY", nowfun=clock(now), app=APP)

    remaining = rule.remaining_estimate(now)

    assert timedelta(0) < remaining <= timedelta(seconds=1)


def test_celery_redbeats_rrule_without_dtstart_waits_a_whole_interval():
    # the contrast: dateutil drops dtstart's microseconds, so the first occurrence is in the past
    now = at(2026, 1, 15, 12, 0, 0) + timedelta(microseconds=250000)
    theirs = redbeat.schedules.rrule("HOURLY", nowfun=clock(now), app=APP)

    assert theirs.remaining_estimate(now) > timedelta(minutes=59)


def test_an_rrule_with_count_one_fires_once():
    start = at(2026, 1, 20, 9, 0)
    rule = rrule("DAILY", dtstart=start, count=1, nowfun=clock(start), app=APP)

    assert rule.is_due(at(2026, 1, 15, 12, 0)) == (True, None)
    assert rule.remaining_estimate(start) is None
    assert rule.is_due(start) == (False, None)


def test_an_rrule_ends_at_until():
    until = at(2026, 1, 17, 9, 0)
    rule = rrule("DAILY", dtstart=at(2026, 1, 15, 9, 0), until=until, nowfun=clock(until), app=APP)

    assert rule.remaining_estimate(at(2026, 1, 16, 9, 0)) == timedelta(0)
    assert rule.remaining_estimate(until) is None


def test_an_rrule_takes_weekday_objects():
    monday = rrule("WEEKLY", dtstart=at(2026, 1, 15, 9, 0), byweekday=MO, app=APP)
    monday.nowfun = clock(at(2026, 1, 15, 9, 0))

    assert monday.remaining_estimate(at(2026, 1, 15, 9, 0)) == timedelta(days=4)


@pytest.mark.parametrize("freq", ["FORTNIGHTLY", 7, -1, None, True])
def test_an_rrule_refuses_an_unknown_freq(freq):
    with pytest.raises(ValueError, match="freq must be one of"):
        rrule(freq, dtstart=at(2026, 1, 1), app=APP)


@pytest.mark.parametrize("freq", ["daily", "DAILY", 3])
def test_an_rrule_takes_freq_by_name_or_number(freq):
    assert rrule(freq, dtstart=at(2026, 1, 1), app=APP).freq == 3


def test_rrules_with_the_same_rule_are_equal_however_it_was_spelled():
    def weekly(**fields):
        return rrule("WEEKLY", dtstart=at(2026, 1, 1), app=APP, **fields)

    assert weekly(byweekday=(MO, 4), byhour=(9, 17)) == weekly(byweekday=[0, 4], byhour=[9, 17])
    assert weekly() != weekly(timezone="UTC")
    assert weekly() != weekly(interval=2)


def test_an_rrule_keeps_the_dateutil_rule():
    rule = rrule("DAILY", dtstart=at(2026, 1, 1), count=3, app=APP)

    assert list(rule.rrule) == [at(2026, 1, 1), at(2026, 1, 2), at(2026, 1, 3)]


# ---- oneoff ----------------------------------------------------------------------------------

RUN_AT = at(2026, 1, 20, 9, 0)


def once(now: datetime) -> oneoff:
    return oneoff(RUN_AT, nowfun=clock(now), app=APP)


def test_a_oneoff_is_not_due_before_its_time():
    before = RUN_AT - timedelta(minutes=5)

    assert once(before).is_due(None) == (False, 300)
    assert once(before).remaining_estimate(None) == timedelta(minutes=5)


@pytest.mark.parametrize("now", [RUN_AT, RUN_AT + timedelta(hours=3)])
@pytest.mark.parametrize("last_run_at", [None, RUN_AT - timedelta(days=1)])
def test_a_oneoff_is_due_at_or_after_its_time_until_it_has_run(now, last_run_at):
    assert once(now).is_due(last_run_at) == (True, None)


@pytest.mark.parametrize("last_run_at", [RUN_AT, RUN_AT + timedelta(seconds=1)])
def test_a_oneoff_is_finished_once_it_has_run(last_run_at):
    later = RUN_AT + timedelta(days=1)

    assert once(later).is_due(last_run_at) == (False, None)
    assert once(later).remaining_estimate(last_run_at) is None


def test_a_oneoff_reads_a_naive_time_as_utc():
    assert oneoff(datetime(2026, 1, 20, 9, 0), app=APP).run_at == RUN_AT


def test_a_oneoff_refuses_what_is_not_a_datetime():
    with pytest.raises(TypeError, match="run_at must be a datetime"):
        oneoff("2026-01-20T09:00:00Z", app=APP)  # type: ignore[arg-type]


# ---- solar (Celery's own, stored by us) ------------------------------------------------------


def test_solar_sunrise_round_trips_and_estimates_the_next_sunrise():
    # London, midsummer: the sun rises at about 03:43 UTC
    midnight = at(2026, 6, 21, 0, 0)
    sunrise = loads(dumps(solar("sunrise", 51.5074, -0.1278)))
    sunrise.nowfun, sunrise.app = clock(midnight), APP

    remaining = sunrise.remaining_estimate(midnight)

    assert sunrise == solar("sunrise", 51.5074, -0.1278)
    assert timedelta(hours=3, minutes=35) < remaining < timedelta(hours=3, minutes=50)
    assert sunrise.is_due(midnight) == schedstate(False, remaining.total_seconds())


def test_the_rule_field_lists_name_every_argument_of_the_rrule_constructor():
    import inspect

    from django_redbeat import schedules

    arguments = set(inspect.signature(schedules.rrule.__init__).parameters)
    not_rule = {"self", "kwargs", "app", "nowfun", "timezone"}  # the zone is stored apart
    assert set(schedules.RULE_FIELDS) == arguments - not_rule
    grouped = {
        "freq", "wkst", "byweekday", *schedules.RULE_INT_FIELDS,
        *schedules.RULE_INT_LIST_FIELDS, *schedules.RULE_MOMENT_FIELDS,
    }  # fmt: skip
    assert grouped == set(schedules.RULE_FIELDS)


def test_the_crontab_field_list_names_every_field_of_celerys_crontab():
    import inspect

    from celery.schedules import crontab as celery_crontab

    from django_redbeat.schedules import CRONTAB_FIELDS

    arguments = set(inspect.signature(celery_crontab.__init__).parameters)
    assert set(CRONTAB_FIELDS) == arguments - {"self", "nowfun", "app", "kwargs"}
