"""``manage.py redbeat_import --from-django-celery-beat``: django-celery-beat's tasks, made in
its real tables, copied into ours, and so into Redis."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import modify_settings, override_settings

from django_redbeat.decoder import to_timestamp
from django_redbeat.models import PeriodicTask, PeriodicTaskQuerySet, Source
from tests.importing.celery_beat_rows import (
    beat,
    crontab,
    interval,
    old_task,
    redis_contents,
    run,
    score,
    stored,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

UTC = timezone.utc
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # the celery_app fixture's clock: a Thursday


def row(name: str) -> PeriodicTask:
    return PeriodicTask.objects.get(name=name)


def test_each_schedule_kind_is_copied_and_reaches_redis(celery_app, redis_client):
    old_task("every-90m", interval=interval(90, "minutes"))
    old_task("every-5s-in-us", interval=interval(5_000_000, "microseconds"))
    paris = crontab(minute="30", hour="7", day_of_week="1-5", timezone="Europe/Paris")
    old_task("paris-mornings", crontab=paris)
    sunrise = beat.SolarSchedule.objects.create(
        event="sunrise", latitude=Decimal("48.85"), longitude=Decimal("2.35")
    )
    old_task("sunrise", solar=sunrise)
    at = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    old_task("once", clocked=beat.ClockedSchedule.objects.create(clocked_time=at), one_off=True)

    out, err = run()

    assert "Read 5 django-celery-beat tasks: 5 created." in out, out + err
    assert (row("every-90m").every, row("every-90m").period) == (90, "minutes")
    assert (row("every-5s-in-us").every, row("every-5s-in-us").period) == (5, "seconds")
    cron = row("paris-mornings")
    assert (cron.minute, cron.hour, cron.day_of_week, cron.timezone) == (
        "30", "7", "1-5", "Europe/Paris",
    )  # fmt: skip
    assert (row("sunrise").solar_event, row("sunrise").latitude) == ("sunrise", 48.85)
    assert (row("once").kind, row("once").run_at, row("once").one_off) == ("oneoff", at, True)
    assert {task.source for task in PeriodicTask.objects.all()} == {Source.CELERY_BEAT_DB}
    # ...and Redis holds each entry, due when its schedule says
    assert stored(celery_app, "every-90m").schedule.run_every == timedelta(minutes=90)
    assert score(redis_client, "every-90m") == to_timestamp(NOW + timedelta(minutes=90))
    assert stored(celery_app, "paris-mornings").schedule.timezone == "Europe/Paris"
    # Friday 07:30 in Paris (UTC+1 in January), not 07:30 UTC
    friday = datetime(2026, 1, 16, 6, 30, tzinfo=UTC)
    assert score(redis_client, "paris-mornings") == to_timestamp(friday)
    solar = stored(celery_app, "sunrise").schedule
    assert (solar.event, solar.lat, solar.lon) == ("sunrise", 48.85, 2.35)
    assert stored(celery_app, "once").schedule.run_at == at
    assert score(redis_client, "once") == to_timestamp(at)


def test_options_description_and_run_limits_are_copied(celery_app, redis_client):
    expires = datetime(2026, 9, 1, tzinfo=UTC)
    start = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    old_task(
        "with-options", args='[1, "two"]', kwargs='{"x": 3}', queue="reports", exchange="ex",
        routing_key="rk", priority=7, headers='{"tenant": "a"}', expires=expires,
        description="Monthly numbers", start_time=start, one_off=True,
    )  # fmt: skip
    old_task("expire-seconds", expire_seconds=300)
    run()
    task = row("with-options")
    assert (task.args, task.kwargs, task.description) == ([1, "two"], {"x": 3}, "Monthly numbers")
    assert (task.queue, task.exchange, task.routing_key, task.priority) == (
        "reports",
        "ex",
        "rk",
        7,
    )
    assert (task.headers, task.expires) == ({"tenant": "a"}, expires)
    entry = stored(celery_app, "with-options")
    assert entry.options == {
        "queue": "reports", "exchange": "ex", "routing_key": "rk", "priority": 7,
        "headers": {"tenant": "a"}, "expires": expires,
    }  # fmt: skip
    # django-celery-beat's start_time, expires and one_off on an interval: the run policy
    assert (entry.policy.start_time, entry.policy.end_time) == (start, expires)
    assert entry.policy.max_runs == 1
    first = start + timedelta(minutes=10)  # its first slot at or after the start
    assert score(redis_client, "with-options") <= to_timestamp(first)
    assert score(redis_client, "with-options") >= to_timestamp(start)
    assert stored(celery_app, "expire-seconds").options == {"expires": 300}


def test_the_last_run_and_run_count_are_carried(celery_app, redis_client):
    old_task("hourly", interval=interval(1, "hours"), last_run_at=NOW - timedelta(minutes=20),
             total_run_count=7)  # fmt: skip
    out, _ = run()
    assert "1 created; run state carried into 1 entry." in out
    entry = stored(celery_app, "hourly")
    assert (entry.last_run_at, entry.total_run_count) == (NOW - timedelta(minutes=20), 7)
    # due an hour after its last run there, not an hour after the copy
    assert score(redis_client, "hourly") == to_timestamp(NOW + timedelta(minutes=40))
    assert not entry.is_due().is_due
    # and the count goes on from there
    assert entry.next_instance().total_run_count == 8


def test_a_disabled_task_is_copied_disabled_with_its_count(celery_app, redis_client):
    # django-celery-beat clears a disabled task's last run, and keeps its count
    old_task("paused", enabled=False, total_run_count=3, last_run_at=NOW)
    run()
    assert row("paused").enabled is False
    entry = stored(celery_app, "paused")
    assert (entry.enabled, entry.total_run_count) == (False, 3)
    assert score(redis_client, "paused") == -1


def test_running_it_again_changes_nothing(celery_app, redis_client):
    old_task("hourly", interval=interval(1, "hours"), last_run_at=NOW - timedelta(minutes=20),
             total_run_count=7)  # fmt: skip
    old_task("nightly", crontab=crontab(minute="0", hour="3"))
    old_task("bounded", start_time=NOW, expires=NOW + timedelta(days=30), one_off=True,
             headers='{"h": 1}', priority=3, description="with a policy")  # fmt: skip
    sunrise = beat.SolarSchedule.objects.create(event="sunrise", latitude=1.5, longitude=2)
    old_task("sunrise", solar=sunrise)
    at = beat.ClockedSchedule.objects.create(clocked_time=NOW + timedelta(days=1))
    old_task("once", clocked=at, one_off=True)
    run()
    changed = dict(PeriodicTask.objects.values_list("name", "date_changed"))
    before = redis_contents(redis_client)
    out, _ = run()
    assert "Read 5 django-celery-beat tasks: 5 unchanged." in out
    assert dict(PeriodicTask.objects.values_list("name", "date_changed")) == changed
    assert redis_contents(redis_client) == before
    assert PeriodicTask.objects.count() == 5


def test_a_row_changed_in_django_celery_beat_is_updated_not_duplicated(celery_app):
    old = old_task("job", description="before")
    run()
    old.interval = interval(2, "hours")
    old.description = "after"
    old.save()
    out, _ = run()
    assert "1 updated" in out
    assert PeriodicTask.objects.count() == 1
    assert (row("job").every, row("job").period, row("job").description) == (2, "hours", "after")
    assert stored(celery_app, "job").schedule.run_every == timedelta(hours=2)


def test_run_state_made_here_since_is_kept_and_newer_runs_there_are_carried(celery_app, clock):
    old = old_task("hourly", interval=interval(1, "hours"), total_run_count=7,
                   last_run_at=NOW - timedelta(minutes=20))  # fmt: skip
    run()
    clock.advance(minutes=40)
    stored(celery_app, "hourly").next()  # beat runs it here: count 8
    run()
    assert stored(celery_app, "hourly").total_run_count == 8  # not moved back to 7
    # django-celery-beat's beat ran it later still (both beats running during a switch)
    beat.PeriodicTask.objects.filter(pk=old.pk).update(
        last_run_at=NOW + timedelta(hours=1), total_run_count=9
    )
    run()
    entry = stored(celery_app, "hourly")
    assert (entry.last_run_at, entry.total_run_count) == (NOW + timedelta(hours=1), 9)


def test_dry_run_reports_and_writes_nothing(redis_client):
    old_task("job")
    old_task("bad", args="[1,")
    out, err = run("--dry-run", fails="1 tasks could not be copied")
    assert "error    bad: args: '[1,' is not JSON" in err
    assert "create   job" in out
    assert PeriodicTask.objects.count() == 0
    assert redis_client.keys("*") == []


def test_rows_that_cannot_be_copied_are_reported_and_the_others_copied(monkeypatch, redis_client):
    old_task("good")
    old_task("bad-args", args='{"not": "a list"}')
    old_task("bad-json", kwargs="{x: 1}")
    old_task("half-a-second", interval=interval(500_000, "microseconds"))
    old_task(":lock")
    zoned = crontab(minute="0", hour="9")
    old_task("unknown-zone", crontab=zoned)
    with connection.cursor() as cursor:  # a zone tzdata no longer has, as raw data can hold
        cursor.execute(
            "UPDATE django_celery_beat_crontabschedule SET timezone = %s WHERE id = %s",
            ["Mars/Olympus_Mons", zoned.pk],
        )
    sunrise = beat.SolarSchedule.objects.create(event="sunrise", latitude=1, longitude=2)
    old_task("sunrise", solar=sunrise)
    monkeypatch.setitem(sys.modules, "ephem", None)  # as if ephem were not installed
    PeriodicTask.objects.create(
        name="clash", task="mine", kind="interval", every=1, period="hours"
    )
    old_task("clash")
    old_task("ends-first", start_time=NOW, expires=NOW - timedelta(days=1))

    out, err = run(fails="7 tasks could not be copied")
    assert "error    bad-args: args: Positional arguments must be a JSON list" in err
    assert "error    bad-json: kwargs: '{x: 1}' is not JSON" in err
    assert "error    half-a-second: interval: every 500000 microseconds is not a whole" in err
    assert "error    :lock: name: Entry name ':lock' starts with ':'" in err
    assert "error    unknown-zone: timezone: 'Mars/Olympus_Mons' is not an IANA time zone" in err
    assert "error    sunrise: solar: a solar schedule needs the ephem package" in err
    assert "error    ends-first: expires: end_time: must be after start_time" in err
    assert "kept     clash  (a task of this name was made in the admin or code" in out
    assert set(PeriodicTask.objects.values_list("name", flat=True)) == {"good", "clash"}
    assert row("clash").task == "mine"
    assert redis_client.exists("redbeat:good")


def test_a_clashing_task_is_replaced_with_overwrite(celery_app):
    PeriodicTask.objects.create(
        name="clash", task="mine", kind="interval", every=1, period="hours"
    )
    old_task("clash")
    out, _ = run("--overwrite")
    assert "1 updated" in out
    assert (row("clash").task, row("clash").source) == ("tests.add", Source.CELERY_BEAT_DB)


def test_celery_entries_and_the_settings_schedule_are_skipped_and_said_why(celery_app):
    old_task("celery.backend_cleanup", task="celery.backend_cleanup",
             crontab=crontab(minute="0", hour="4"))  # fmt: skip
    old_task("from-settings")
    schedule = {"from-settings": {"task": "tests.add", "schedule": 600}}
    with override_settings(CELERY_BEAT_SCHEDULE=schedule):
        out, _ = run()
    assert "skipped  celery.backend_cleanup  (Celery's own cleanup" in out
    assert "skipped  from-settings  (in CELERY_BEAT_SCHEDULE" in out
    assert "2 skipped" in out
    assert PeriodicTask.objects.count() == 0


def test_without_django_celery_beat_installed_it_says_so():
    with modify_settings(INSTALLED_APPS={"remove": ["django_celery_beat"]}):
        run(fails="django_celery_beat is not in INSTALLED_APPS")


def test_redis_down_keeps_the_rows_and_a_second_run_carries_the_run_state(own_redis, celery_app):
    last = NOW - timedelta(minutes=5)
    old_task("job", last_run_at=last, total_run_count=4)
    own_redis.stop()
    out, err = run()
    assert "1 created" in out
    assert "1 tasks are saved but not yet in Redis" in err
    assert "Then run this import again" in err
    assert row("job").source == Source.CELERY_BEAT_DB
    own_redis.start()
    call_command("redbeat_sync", "--repair", stdout=StringIO())
    out, _ = run()
    assert "1 unchanged; run state carried into 1 entry." in out
    entry = stored(celery_app, "job")
    assert (entry.last_run_at, entry.total_run_count) == (last, 4)


def test_two_carried_entries_are_counted_once_each(celery_app):
    old_task("a", last_run_at=NOW, total_run_count=1)
    old_task("b", last_run_at=NOW, total_run_count=2)
    out, _ = run()
    assert out.endswith("2 created; run state carried into 2 entries.\n")


def test_a_failure_while_writing_leaves_nothing_half_written(monkeypatch, redis_client):
    first = old_task("first")
    run()
    first.description = "changed"
    first.save()
    old_task("second")

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(PeriodicTaskQuerySet, "bulk_update", broken)
    with pytest.raises(RuntimeError):
        run()
    # the new row was inserted before the update failed: it went with the transaction
    assert list(PeriodicTask.objects.values_list("name", flat=True)) == ["first"]
    assert row("first").description == ""
    assert not redis_client.exists("redbeat:second")


def test_prune_deletes_the_copied_tasks_whose_row_is_gone(redis_client):
    gone = old_task("gone")
    old_task("kept")
    PeriodicTask.objects.create(name="mine", task="t", kind="interval", every=1, period="hours")
    run()
    gone.delete()
    out, _ = run()
    assert "gone     gone  (no longer in django-celery-beat; --prune removes it)" in out
    assert PeriodicTask.objects.filter(name="gone").exists()
    out, _ = run("--prune")
    assert "remove   gone  (no longer in django-celery-beat)" in out
    assert set(PeriodicTask.objects.values_list("name", flat=True)) == {"kept", "mine"}
    assert not redis_client.exists("redbeat:gone")


def test_a_settings_entry_imported_before_gets_its_run_state(celery_app):
    schedule = {"nightly": {"task": "tests.add", "schedule": 3600}}
    old_task("nightly", interval=interval(1, "hours"), last_run_at=NOW - timedelta(minutes=50),
             total_run_count=12)  # fmt: skip
    with override_settings(CELERY_BEAT_SCHEDULE=schedule):
        call_command("redbeat_import", stdout=StringIO())
        out, _ = run()
    assert "imported from there by redbeat_import; its run state is carried" in out
    assert row("nightly").source == Source.SETTINGS
    entry = stored(celery_app, "nightly")
    assert (entry.last_run_at, entry.total_run_count) == (NOW - timedelta(minutes=50), 12)


@override_settings(REDBEAT_CELERY_APP="nowhere.celery.app")
def test_an_app_that_cannot_be_imported_is_a_command_error():
    run(fails="REDBEAT_CELERY_APP = 'nowhere.celery.app' cannot")
