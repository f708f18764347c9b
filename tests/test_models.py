"""PeriodicTask: one row holds a task and its schedule; validation names the bad field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from celery.schedules import schedule as interval
from celery.schedules import solar
from django.core.exceptions import ValidationError
from django.core.management import call_command

from django_redbeat import model_schedules, rrule_text
from django_redbeat.models import PeriodicTask
from django_redbeat.schedules import crontab, oneoff, rrule

UTC = timezone.utc
BASE = {"name": "job", "task": "tests.add"}


def task(**fields) -> PeriodicTask:
    return PeriodicTask(**{**BASE, **fields})


def field_errors(instance: PeriodicTask) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


@pytest.mark.django_db
def test_the_migrations_match_the_models():
    call_command("makemigrations", "django_redbeat", "--check", "--dry-run", verbosity=0)


# ---- model -> Celery schedule ----------------------------------------------------------------


def test_interval_schedule():
    built = task(kind="interval", every=90, period="seconds").schedule
    assert isinstance(built, interval)
    assert built.run_every == timedelta(seconds=90)


def test_crontab_schedule_keeps_its_own_time_zone():
    built = task(kind="crontab", minute="30", hour="9", timezone="Europe/Paris").schedule
    assert isinstance(built, crontab)
    assert built.timezone == "Europe/Paris"
    assert built._orig_minute == "30"


def test_rrule_schedule_starts_at_start_time_in_its_zone():
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    row = task(kind="rrule", rrule="FREQ=WEEKLY;BYDAY=MO", start_time=start, timezone="Asia/Tokyo")
    built = row.schedule
    assert isinstance(built, rrule)
    assert built.dtstart == start
    assert built.timezone == "Asia/Tokyo"
    assert built.count is None


def test_one_off_rrule_runs_once():
    start = datetime(2026, 1, 5, tzinfo=UTC)
    built = task(kind="rrule", rrule="FREQ=DAILY", start_time=start, one_off=True).schedule
    assert built.count == 1


def test_solar_schedule():
    built = task(kind="solar", solar_event="sunrise", latitude=48.85, longitude=2.35).schedule
    assert isinstance(built, solar)
    assert (built.event, built.lat, built.lon) == ("sunrise", 48.85, 2.35)


def test_oneoff_schedule():
    at = datetime(2026, 2, 1, 6, 30, tzinfo=UTC)
    built = task(kind="oneoff", run_at=at).schedule
    assert isinstance(built, oneoff)
    assert built.run_at == at


@pytest.mark.parametrize(
    "schedule",
    [
        interval(timedelta(hours=2)),
        interval(timedelta(seconds=45)),
        crontab("*/15", "9-17", "mon-fri", timezone="America/New_York"),
        crontab("0", "3"),
        rrule("WEEKLY", dtstart=datetime(2026, 1, 5, 9, tzinfo=UTC), byweekday=[0, 4], count=3),
        solar("sunset", -33.87, 151.21),
        oneoff(datetime(2026, 3, 1, tzinfo=UTC)),
    ],
    ids=repr,
)
def test_from_schedule_round_trips(schedule):
    row = task(**PeriodicTask.from_schedule(schedule))
    assert row.schedule == schedule


def test_from_schedule_refuses_what_it_cannot_store():
    with pytest.raises(TypeError):
        PeriodicTask.from_schedule(interval(timedelta(seconds=0.5)))
    with pytest.raises(TypeError):
        PeriodicTask.from_schedule("daily")


# ---- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ":schedule"}, "name"),
        ({"args": {"x": 1}}, "args"),
        ({"kwargs": [1]}, "kwargs"),
        ({"headers": "text"}, "headers"),
        ({"priority": 256}, "priority"),
        ({"expires": datetime(2026, 1, 1, tzinfo=UTC), "expire_seconds": 60}, "expire_seconds"),
        ({"kind": "bogus"}, "kind"),
        ({"kind": "interval", "every": None, "period": "minutes"}, "every"),
        ({"kind": "interval", "every": 5}, "every"),
        ({"kind": "crontab", "minute": "61"}, "minute"),
        ({"kind": "crontab", "minute": "1,,2"}, "minute"),  # celery's ParseException
        ({"kind": "crontab", "hour": "25"}, "hour"),
        ({"kind": "crontab", "day_of_week": "funday"}, "day_of_week"),
        ({"kind": "crontab", "day_of_month": "0"}, "day_of_month"),
        ({"kind": "crontab", "month_of_year": "13"}, "month_of_year"),
        ({"kind": "crontab", "timezone": "Mars/Olympus"}, "timezone"),
        ({"kind": "rrule", "rrule": "FREQ=SOMETIMES"}, "rrule"),
        ({"kind": "rrule", "rrule": "FREQ=DAILY;BYHOUR=x"}, "rrule"),
        ({"kind": "rrule", "rrule": "FREQ=DAILY;BYDAY=XX"}, "rrule"),
        ({"kind": "rrule", "rrule": "FREQ=DAILY;COLOR=red"}, "rrule"),
        ({"kind": "rrule", "rrule": "FREQ=DAILY;BYHOUR=30"}, "rrule"),
        ({"kind": "solar", "solar_event": "sunrise", "latitude": 91, "longitude": 0}, "latitude"),
        ({"kind": "solar", "solar_event": "sunrise", "latitude": 0}, "solar_event"),
        ({"kind": "solar", "solar_event": "noon", "latitude": 0, "longitude": 0}, "solar_event"),
        ({"kind": "oneoff"}, "run_at"),
        ({"kind": "interval", "every": 1, "period": "days", "one_off": True}, "one_off"),
        ({"overlap_timeout": 0}, "overlap_timeout"),
        ({"max_runs": 0}, "max_runs"),
        (
            {
                "kind": "rrule",
                "rrule": "FREQ=DAILY",
                "start_time": datetime(2026, 2, 1, tzinfo=UTC),
                "end_time": datetime(2026, 1, 1, tzinfo=UTC),
            },
            "end_time",
        ),
    ],
)
@pytest.mark.django_db
def test_invalid_input_names_the_field(fields, field):
    assert field in field_errors(task(**{"kind": "crontab", **fields}))


@pytest.mark.parametrize("timezone", ["", "Mars/Olympus"])
@pytest.mark.django_db
def test_every_wrong_crontab_field_is_named(timezone):
    errors = field_errors(task(kind="crontab", minute="1,,2", hour="25", timezone=timezone))
    assert {"minute", "hour"} <= set(errors)
    assert ("timezone" in errors) == bool(timezone)


@pytest.mark.django_db
def test_valid_task_passes_full_clean():
    task(kind="crontab", minute="0", hour="*/2", timezone="Europe/Paris").full_clean()


@pytest.mark.django_db
def test_clean_clears_the_fields_of_other_kinds():
    row = task(kind="interval", every=5, period="minutes", minute="5", rrule="FREQ=DAILY")
    row.timezone, row.run_at = "Europe/Paris", datetime(2026, 1, 1, tzinfo=UTC)
    row.full_clean()
    assert (row.minute, row.rrule, row.timezone, row.run_at) == ("*", "", "", None)
    assert (row.every, row.period) == (5, "minutes")


@pytest.mark.django_db
def test_rrule_without_start_time_gets_a_stable_one_on_save():
    row = task(kind="rrule", rrule="FREQ=HOURLY")
    row.save()
    assert row.start_time is not None
    assert row.schedule == PeriodicTask.objects.get().schedule


@pytest.mark.django_db
def test_oneoff_kind_is_always_one_off():
    row = task(kind="oneoff", run_at=datetime(2026, 1, 1, tzinfo=UTC))
    row.save()
    assert row.one_off is True


@pytest.mark.django_db
def test_deleting_a_task_never_deletes_another():
    first = task(name="a", kind="crontab", minute="0")
    first.save()
    task(name="b", kind="crontab", minute="0").save()
    first.delete()
    assert list(PeriodicTask.objects.values_list("name", flat=True)) == ["b"]


def test_options_hold_only_what_is_set():
    row = task(kind="interval", queue="q", priority=0, headers={"h": 1}, expire_seconds=30)
    expected = {"queue": "q", "priority": 0, "headers": {"h": 1}, "expires": 30}
    assert row.options == expected
    assert task(kind="interval").options == {}


# ---- rrule text, words and previews ------------------------------------------------------------


def test_rrule_text_round_trip():
    text = (
        "FREQ=MONTHLY;INTERVAL=2;BYHOUR=9;BYMINUTE=0;BYDAY=+1MO,-1FR;WKST=SU;"
        "UNTIL=20261231T000000Z"
    )
    assert rrule_text.to_text(rrule(**rrule_text.parse(text))) == text


def test_rrule_text_accepts_the_rrule_prefix_and_lower_case():
    assert rrule_text.parse("RRULE:freq=daily;count=3") == {"freq": 3, "count": 3}


def test_rrule_text_until_without_z_is_in_the_rule_zone():
    parsed = rrule_text.parse("FREQ=DAILY;UNTIL=20260201")
    assert parsed["until"] == datetime(2026, 2, 1)


def test_upcoming_runs_in_the_schedule_zone(celery_app):
    built = crontab("0", "9", timezone="Europe/Paris", app=celery_app)
    celery_app.now = lambda: datetime(2026, 3, 27, 12, tzinfo=UTC)
    times = model_schedules.upcoming(built, None)
    assert [moment.isoformat() for moment in times] == [
        "2026-03-28T09:00:00+01:00",
        "2026-03-29T09:00:00+02:00",  # the clocks went forward: still 9:00 in Paris
        "2026-03-30T09:00:00+02:00",
        "2026-03-31T09:00:00+02:00",
        "2026-04-01T09:00:00+02:00",
    ]


def test_upcoming_stops_when_the_schedule_ends(celery_app):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    celery_app.now = lambda: now
    built = oneoff(now + timedelta(hours=1), app=celery_app)
    assert model_schedules.upcoming(built, None) == [now + timedelta(hours=1)]
    assert model_schedules.upcoming(built, now + timedelta(hours=1)) == []


def test_other_options_are_sent_with_the_named_ones():
    from django_redbeat.models import PeriodicTask

    task = PeriodicTask(name="x", task="t", queue="q", extra_options={"countdown": 5})

    assert task.options == {"queue": "q", "countdown": 5}


def test_other_options_may_not_repeat_a_named_option():
    import pytest
    from django.core.exceptions import ValidationError

    from django_redbeat.models import PeriodicTask

    task = PeriodicTask(name="x", task="t", kind="interval", every=5, period="seconds",
                        extra_options={"queue": "elsewhere"})  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        task.clean()
    assert "queue" in str(caught.value.message_dict["extra_options"])


def test_every_field_is_an_entry_field_an_option_a_schedule_field_or_admin_only():
    from django_redbeat import model_schedules, models

    schedule = {"kind", *(f for kind in model_schedules.KIND_FIELDS.values() for f in kind)}
    groups = [
        models.TASK_FIELDS, models.OPTION_FIELDS, schedule, models.POLICY_FIELDS,
        models.PAUSE_FIELDS, models.ADMIN_ONLY_FIELDS,
    ]  # fmt: skip
    fields = [field.name for field in PeriodicTask._meta.concrete_fields]
    ungrouped = [name for name in fields if not any(name in group for group in groups)]
    in_two = [name for name in fields if sum(name in group for group in groups) > 1]
    assert (ungrouped, in_two) == ([], [])
