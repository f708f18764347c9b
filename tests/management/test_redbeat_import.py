"""``manage.py redbeat_import``: CELERY_BEAT_SCHEDULE into the models, and so into Redis."""

from __future__ import annotations

import gc
import json
from datetime import datetime, timedelta, timezone
from io import StringIO

import pytest
from celery.schedules import crontab as celery_crontab
from celery.schedules import schedule as celery_schedule
from celery.schedules import solar
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from redbeat.schedules import rrule as redbeat_rrule

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.importing import importer
from django_redbeat.models import PeriodicTask, Source
from django_redbeat.schedules import crontab, oneoff, rrule

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

UTC = timezone.utc
DTSTART = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
SCHEDULE = {
    "every-30s": {"task": "tests.add", "schedule": 30, "args": (1, 2)},
    "every-90m": {"task": "tests.add", "schedule": timedelta(minutes=90)},
    "celery-interval": {"task": "tests.add", "schedule": celery_schedule(timedelta(hours=2))},
    "nightly": {"task": "tests.add", "schedule": celery_crontab(minute="0", hour="3")},
    "paris-9am": {"task": "tests.add", "schedule": crontab(0, 9, timezone="Europe/Paris")},
    "sunrise": {"task": "tests.add", "schedule": solar("sunrise", 48.85, 2.35)},
    "fridays": {
        "task": "tests.add",
        "schedule": rrule("WEEKLY", dtstart=DTSTART, byweekday=4, timezone="Europe/Paris"),
    },
    "once": {"task": "tests.add", "schedule": oneoff(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))},
}


def run(*args: str, schedule=None) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with override_settings(CELERY_BEAT_SCHEDULE=SCHEDULE if schedule is None else schedule):
        call_command("redbeat_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def row(name: str) -> PeriodicTask:
    return PeriodicTask.objects.get(name=name)


def definition(redis_client, name: str) -> dict:
    return json.loads(redis_client.hget("redbeat:" + name, "definition"))


def test_every_schedule_kind_becomes_its_model_schedule(celery_app, redis_client):
    out, _ = run()
    assert "Imported 8 entries: 8 created (" in out
    kinds = dict(PeriodicTask.objects.values_list("name", "kind"))
    assert kinds == {
        "every-30s": "interval", "every-90m": "interval", "celery-interval": "interval",
        "nightly": "crontab", "paris-9am": "crontab", "sunrise": "solar", "fridays": "rrule",
        "once": "oneoff",
    }  # fmt: skip
    assert (row("every-30s").every, row("every-30s").period) == (30, "seconds")
    assert (row("every-90m").every, row("every-90m").period) == (90, "minutes")
    assert (row("nightly").minute, row("nightly").hour) == ("0", "3")
    assert row("paris-9am").timezone == "Europe/Paris"
    assert row("fridays").rrule == "FREQ=WEEKLY;BYDAY=FR"
    assert row("fridays").start_time == DTSTART
    assert row("once").one_off
    assert row("every-30s").args == [1, 2]
    assert all(task.source == Source.SETTINGS for task in PeriodicTask.objects.all())
    # ...and so into Redis, through the same path as the admin
    for name, spec in SCHEDULE.items():
        entry = RedBeatSchedulerEntry.from_key("redbeat:" + name, app=celery_app)
        assert entry.task == spec["task"]
    assert definition(redis_client, "every-30s")["schedule"]["every"] == 30.0


def test_every_option_is_kept(celery_app):
    expires_at = datetime(2026, 3, 1, tzinfo=UTC)
    options = {
        "queue": "reports", "exchange": "ex", "routing_key": "rk", "priority": 7,
        "headers": {"tenant": "a"}, "expires": 120,
    }  # fmt: skip
    schedule = {
        "with-options": {"task": "tests.add", "schedule": 60, "options": options},
        "expires-at": {"task": "tests.add", "schedule": 60, "options": {"expires": expires_at}},
        "disabled": {"task": "tests.add", "schedule": 60, "enabled": False},
    }
    run(schedule=schedule)
    entry = RedBeatSchedulerEntry.from_key("redbeat:with-options", app=celery_app)
    assert entry.options == options
    assert row("expires-at").expires == expires_at
    assert not RedBeatSchedulerEntry.from_key("redbeat:disabled", app=celery_app).enabled


def test_celery_redbeat_rrules_are_imported_too():
    schedule = {"hourly": {"task": "tests.add", "schedule": redbeat_rrule("HOURLY", DTSTART)}}
    run(schedule=schedule)
    assert (row("hourly").rrule, row("hourly").start_time) == ("FREQ=HOURLY", DTSTART)


def test_an_entry_has_the_digest_earlier_imports_stored():
    # else every row imported before would count as edited since, and be kept at the next import
    spec = {
        "task": "tests.add", "args": (1, 2), "kwargs": {"x": 1},
        "schedule": rrule("WEEKLY", dtstart=DTSTART, byweekday=4, timezone="Europe/Paris"),
        "options": {"queue": "q", "priority": 5, "countdown": 5,
                    "expires": datetime(2026, 6, 1, 8, 0, tzinfo=UTC)},
    }  # fmt: skip
    stored_before = "5167d5a5a1f1360c56a8ae414709eb6b2469aa45e8eeef9cf7b14bde79a088da"
    assert importer.build("rule", spec).source_digest == stored_before


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_paused_while_importing_and_then_as_it_was(enabled):
    during = []
    (gc.enable if enabled else gc.disable)()
    try:
        plan = importer.make_plan(SCHEDULE, progress=lambda *_: during.append(gc.isenabled()))
        assert gc.isenabled() == enabled
        importer.apply(plan)
        assert gc.isenabled() == enabled
    finally:
        gc.enable()
    assert during == [False] * len(SCHEDULE)
    assert PeriodicTask.objects.count() == len(SCHEDULE)


def test_running_it_again_changes_nothing(redis_client):
    run()
    changed = dict(PeriodicTask.objects.values_list("name", "date_changed"))
    redis_client.hset("redbeat:nightly", "definition", '{"written": "by hand"}')
    out, _ = run()
    assert "Imported 8 entries: 8 unchanged" in out
    assert dict(PeriodicTask.objects.values_list("name", "date_changed")) == changed
    # nothing written to Redis either: the hand-made change is still there
    assert redis_client.hget("redbeat:nightly", "definition") == '{"written": "by hand"}'


def test_an_rrule_without_dtstart_is_not_changed_by_a_later_run():
    first = {"rule": {"task": "tests.add", "schedule": rrule("MINUTELY", interval=5)}}
    run(schedule=first)
    start = row("rule").start_time
    again = {"rule": {"task": "tests.add", "schedule": rrule("MINUTELY", interval=5)}}
    out, _ = run(schedule=again)
    assert "1 unchanged" in out
    assert row("rule").start_time == start


def test_a_changed_entry_is_updated_keeping_run_state_and_description(celery_app):
    run()
    PeriodicTask.objects.filter(name="nightly").update(description="mine")
    task = row("nightly")
    task.source_digest = importer.digest(task)  # a description is not an edit of the import
    task.save()
    changed = {**SCHEDULE, "nightly": {"task": "tests.other", "schedule": celery_crontab(0, 4)}}
    out, _ = run(schedule=changed)
    assert "1 updated, 7 unchanged" in out
    assert (row("nightly").task, row("nightly").hour) == ("tests.other", "4")
    assert row("nightly").description == "mine"
    assert RedBeatSchedulerEntry.from_key("redbeat:nightly", app=celery_app).task == "tests.other"


def test_edits_made_since_the_import_are_kept_unless_overwrite(celery_app):
    run()
    task = row("nightly")
    task.hour = "5"
    task.save()  # as the admin saves it
    PeriodicTask.objects.filter(name="every-30s").update(enabled=False)  # an admin action
    changed = {**SCHEDULE, "nightly": {"task": "tests.add", "schedule": celery_crontab(0, 4)}}

    out, _ = run(schedule=changed)
    assert "kept     nightly  (edited since its import; --overwrite replaces it)" in out
    assert "kept     every-30s" in out
    assert row("nightly").hour == "5"
    assert not row("every-30s").enabled

    out, _ = run("--overwrite", schedule=changed)
    assert "2 updated" in out
    assert row("nightly").hour == "4"
    assert row("every-30s").enabled
    assert RedBeatSchedulerEntry.from_key("redbeat:every-30s", app=celery_app).enabled


def test_a_task_created_in_the_admin_with_the_same_name_is_kept_unless_overwrite():
    PeriodicTask.objects.create(
        name="nightly", task="tests.mine", kind="interval", every=1, period="hours"
    )
    out, _ = run()
    assert "kept     nightly  (created in the admin or by code, not imported" in out
    assert row("nightly").task == "tests.mine"
    run("--overwrite")
    assert (row("nightly").task, row("nightly").source) == ("tests.add", Source.SETTINGS)


def test_entries_gone_from_the_settings_are_reported_and_pruned(redis_client):
    run()
    fewer = {name: spec for name, spec in SCHEDULE.items() if name not in ("nightly", "once")}
    out, _ = run(schedule=fewer)
    assert "gone     nightly  (no longer in CELERY_BEAT_SCHEDULE; --prune removes it)" in out
    assert PeriodicTask.objects.filter(name="nightly").exists()

    out, _ = run("--prune", schedule=fewer)
    assert "remove   nightly  (no longer in CELERY_BEAT_SCHEDULE)" in out
    assert "2 removed, 6 unchanged" in out
    assert not PeriodicTask.objects.filter(name__in=["nightly", "once"]).exists()
    assert redis_client.exists("redbeat:nightly") == 0


def test_prune_keeps_edited_and_admin_tasks_unless_overwrite():
    run()
    PeriodicTask.objects.filter(name="nightly").update(hour="6")
    PeriodicTask.objects.create(
        name="mine", task="tests.mine", kind="interval", every=1, period="hours"
    )
    fewer = {name: spec for name, spec in SCHEDULE.items() if name != "nightly"}
    out, _ = run("--prune", schedule=fewer)
    assert "gone     nightly  (no longer in CELERY_BEAT_SCHEDULE, but edited since" in out
    assert set(PeriodicTask.objects.values_list("name", flat=True)) >= {"nightly", "mine"}
    run("--prune", "--overwrite", schedule=fewer)
    assert not PeriodicTask.objects.filter(name="nightly").exists()
    assert PeriodicTask.objects.filter(name="mine").exists()  # never imported: never pruned


def test_dry_run_shows_the_changes_and_writes_nothing(redis_client):
    run(schedule={"old": {"task": "tests.add", "schedule": 60}})
    redis_client.flushall()
    out, _ = run("--dry-run", "--prune")
    assert "create   nightly" in out
    assert "remove   old  (no longer in CELERY_BEAT_SCHEDULE)" in out
    assert "Dry run, nothing written: 8 to create, 1 to remove." in out
    assert list(PeriodicTask.objects.values_list("name", flat=True)) == ["old"]
    assert redis_client.keys("*") == []


def test_bad_entries_are_reported_by_name_and_the_others_imported(redis_client):
    schedule = {
        "good": {"task": "tests.add", "schedule": 60},
        "unknown-type": {"task": "tests.add", "schedule": "every day"},
        "not-json": {"task": "tests.add", "schedule": 60, "args": [object()]},
        "bad-priority": {"task": "tests.add", "schedule": 60, "options": {"priority": 300}},
        "bad-option": {"task": "tests.add", "schedule": 60, "options": {"countdown": object()}},
        "no-task": {"schedule": 60},
        "fraction": {"task": "tests.add", "schedule": 0.5},
        "relative": {"task": "tests.add", "schedule": 60, "relative": True},
        ":reserved": {"task": "tests.add", "schedule": 60},
        "typo": {"task": "tests.add", "schedule": 60, "kwarg": {}},
    }
    with pytest.raises(CommandError, match="9 entries could not be imported"):
        run(schedule=schedule)
    assert list(PeriodicTask.objects.values_list("name", flat=True)) == ["good"]
    assert redis_client.exists("redbeat:good") == 1
    err = StringIO()
    with (
        override_settings(CELERY_BEAT_SCHEDULE=schedule),
        pytest.raises(CommandError),
    ):
        call_command("redbeat_import", stdout=StringIO(), stderr=err)
    errors = err.getvalue()
    assert "error    unknown-type: schedule: str is not a schedule" in errors
    assert "error    not-json: args: Value must be valid JSON." in errors
    assert (
        "error    bad-priority: priority: Ensure this value is less than or equal to 255" in errors
    )
    assert "error    bad-option: extra_options: Value must be valid JSON." in errors
    assert "error    no-task: 'task' must be the task's name" in errors
    assert "error    fraction: schedule: an interval of 0.5 s is not a whole number" in errors
    assert "error    relative: a 'relative' interval cannot be stored" in errors
    assert "error    :reserved: name: Entry name ':reserved' starts with ':'" in errors
    assert "error    typo: unknown key(s) kwarg" in errors


def test_any_other_option_is_kept_and_sent(redis_client, celery_app):
    options = {"queue": "q", "countdown": 5, "soft_time_limit": 30, "retry": False}

    run(schedule={"opts": {"task": "tests.add", "schedule": 60, "options": options}})

    assert row("opts").extra_options == {"countdown": 5, "soft_time_limit": 30, "retry": False}
    stored = RedBeatSchedulerEntry.from_key("redbeat:opts", app=celery_app)
    assert stored.options == options


def test_the_celery_apps_beat_schedule_when_the_settings_have_none(celery_app):
    celery_app.conf.beat_schedule = {"from-app": {"task": "tests.add", "schedule": 60}}
    out = StringIO()
    call_command("redbeat_import", stdout=out)
    assert row("from-app").source == Source.SETTINGS


def test_a_progress_counter_on_long_imports(redis_client):
    schedule = {f"job-{n:04}": {"task": "tests.add", "schedule": 60 + n} for n in range(1500)}
    out, _ = run(schedule=schedule)
    assert "Checked 1000/1500 entries\nChecked 1500/1500 entries\n" in out
    assert "Writing 1500 tasks to the database and Redis..." in out
    assert redis_client.zcard("redbeat::schedule") == 1500


def test_redis_down_keeps_the_rows_and_says_how_to_repair(own_redis):
    own_redis.stop()
    out, err = run(schedule={"job": {"task": "tests.add", "schedule": 60}})
    assert "1 created" in out
    assert "1 tasks are saved but not yet in Redis" in err
    assert "redbeat_sync --repair" in err
    assert row("job").source == Source.SETTINGS


@override_settings(REDBEAT_CELERY_APP="nowhere.celery.app")
def test_an_app_that_cannot_be_imported_is_a_command_error():
    with pytest.raises(CommandError, match="REDBEAT_CELERY_APP = 'nowhere.celery.app' cannot"):
        call_command("redbeat_import", stdout=StringIO())
