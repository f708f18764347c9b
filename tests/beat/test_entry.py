from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery.schedules import crontab, schedule

from django_redbeat.decoder import to_timestamp
from django_redbeat.exceptions import EncodeError, EntryNotFound, InvalidEntryName
from django_redbeat.schedulers import RedBeatSchedulerEntry
from django_redbeat.schedules import oneoff

SCHEDULE_KEY = "redbeat::schedule"


def every(seconds: float) -> schedule:
    return schedule(timedelta(seconds=seconds))


def make(app, name="add", sched=None, **kwargs) -> RedBeatSchedulerEntry:
    return RedBeatSchedulerEntry(name, "tests.add", sched or every(60), app=app, **kwargs)


def test_save_writes_the_redbeat_layout(celery_app, redis_client, clock):
    entry = make(celery_app, args=[1, 2], kwargs={"z": 3}, options={"queue": "q"}).save()

    assert entry.key == "redbeat:add"
    definition = json.loads(redis_client.hget("redbeat:add", "definition"))
    assert definition == {
        "name": "add",
        "task": "tests.add",
        "args": [1, 2],
        "kwargs": {"z": 3},
        "options": {"queue": "q"},
        "schedule": {"__type__": "interval", "every": 60.0, "relative": False},
        "enabled": True,
    }
    meta = json.loads(redis_client.hget("redbeat:add", "meta"))
    assert set(meta) == {"last_run_at"}  # a new entry's meta, as celery-redbeat writes it
    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:add") == to_timestamp(clock()) + 60


def test_from_key_reads_back_what_was_saved(celery_app):
    saved = make(celery_app, args=[1, 2], options={"priority": 5}).save()

    loaded = RedBeatSchedulerEntry.from_key(saved.key, app=celery_app)

    assert (loaded.name, loaded.task, loaded.args) == ("add", "tests.add", [1, 2])
    assert loaded.options == {"priority": 5}
    assert loaded.schedule == every(60)
    assert loaded.last_run_at == saved.last_run_at
    assert loaded.enabled is True


def test_from_key_of_a_missing_entry_raises_a_key_error(celery_app):
    with pytest.raises(EntryNotFound) as caught:
        RedBeatSchedulerEntry.from_key("redbeat:nothing", app=celery_app)
    assert isinstance(caught.value, KeyError)


@pytest.mark.parametrize("name", [":schedule", ":statics", ":lock", ":anything", ""])
def test_names_that_collide_with_internal_keys_are_refused(celery_app, name):
    with pytest.raises(InvalidEntryName):
        make(celery_app, name=name)


def test_a_value_that_is_not_json_is_refused_before_anything_is_written(celery_app, redis_client):
    with pytest.raises(EncodeError):
        make(celery_app, args=[object()]).save()
    assert redis_client.keys("*") == []


def test_saving_again_keeps_the_run_state_in_redis(celery_app, clock):
    first = make(celery_app).save()
    ran = first._next_instance()  # one run recorded in Redis
    clock.advance(minutes=5)

    make(celery_app, sched=every(120)).save()  # an edited definition, built fresh

    loaded = RedBeatSchedulerEntry.from_key(first.key, app=celery_app)
    assert loaded.total_run_count == 1
    assert loaded.last_run_at == ran.last_run_at
    assert loaded.schedule == every(120)


def test_reschedule_keeps_the_run_count(celery_app, clock):
    entry = make(celery_app).save()
    entry = entry._next_instance()._next_instance()

    entry.reschedule(clock.advance(minutes=1))

    loaded = RedBeatSchedulerEntry.from_key(entry.key, app=celery_app)
    assert loaded.total_run_count == 2  # celery-redbeat 2.4 writes meta without it: 0
    assert loaded.last_run_at == clock()


def test_next_records_a_run_and_moves_the_score(celery_app, redis_client, clock):
    entry = make(celery_app).save()
    clock.advance(seconds=60)

    after = next(entry)

    assert after.total_run_count == 1
    assert after.last_run_at == clock()
    assert RedBeatSchedulerEntry.load_meta(entry.key, app=celery_app) == after.meta
    assert redis_client.zscore(SCHEDULE_KEY, entry.key) == to_timestamp(clock()) + 60


def test_due_at_is_never_earlier_than_the_schedule_says(celery_app, clock):
    # last run 5 minutes ago, every 10 minutes: due 5 minutes from now. celery-redbeat 2.4
    # returns last_run_at + remaining, i.e. right now: 5 minutes early.
    entry = make(celery_app, sched=every(600), last_run_at=clock() - timedelta(minutes=5))

    assert entry.due_at == clock() + timedelta(minutes=5)


def test_an_overdue_entry_is_due_now_not_in_the_past(celery_app, clock):
    entry = make(celery_app, sched=every(60), last_run_at=clock() - timedelta(hours=3))

    assert entry.due_at == clock()
    assert entry.is_due().is_due


def test_a_crontab_is_due_at_its_next_time(celery_app, clock):
    entry = make(celery_app, sched=crontab(minute=30), last_run_at=clock())

    assert entry.due_at == clock().replace(minute=30)


def test_a_disabled_entry_leaves_the_due_window_and_comes_back(celery_app, redis_client, clock):
    make(celery_app, enabled=False).save()
    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:add") == -1
    assert not make(celery_app, enabled=False).is_due().is_due

    make(celery_app, enabled=True).save()
    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:add") == to_timestamp(clock()) + 60


def test_delete_removes_the_hash_the_schedule_member_the_history_and_marker(
    celery_app, redis_client
):
    entry = make(celery_app).save()
    redis_client.lpush("redbeat::history:add", '{"outcome": "sent"}')
    redis_client.set("redbeat::running:add", "task-id", ex=60)

    entry.delete()

    assert redis_client.keys("*") == []


def test_load_definition_and_meta(celery_app):
    entry = make(celery_app, kwargs={"a": 1}).save()

    definition = RedBeatSchedulerEntry.load_definition(entry.key, app=celery_app)
    meta = RedBeatSchedulerEntry.load_meta(entry.key, app=celery_app)

    assert definition["kwargs"] == {"a": 1}
    assert definition["schedule"] == every(60)
    assert meta == {"last_run_at": entry.last_run_at}
    with pytest.raises(KeyError):
        RedBeatSchedulerEntry.load_definition("redbeat:missing", app=celery_app)


def test_rank_is_the_position_in_the_schedule(celery_app):
    late = make(celery_app, name="late", sched=every(600)).save()
    soon = make(celery_app, name="soon", sched=every(6)).save()

    assert (soon.rank, late.rank) == (0, 1)


def test_a_oneoff_runs_once_then_stays_visible_as_finished(celery_app, redis_client, clock):
    entry = make(celery_app, sched=oneoff(clock() + timedelta(minutes=1))).save()
    assert redis_client.zscore(SCHEDULE_KEY, entry.key) == to_timestamp(clock()) + 60

    clock.advance(minutes=1)
    assert entry.is_due().is_due
    finished = next(entry)

    assert not finished.is_due().is_due
    assert redis_client.zscore(SCHEDULE_KEY, entry.key) == -1
    assert RedBeatSchedulerEntry.from_key(entry.key, app=celery_app).total_run_count == 1


def test_a_oneoff_saved_after_its_time_still_runs_once(celery_app, clock):
    entry = make(celery_app, sched=oneoff(clock() - timedelta(minutes=1))).save()

    assert entry.is_due().is_due
    assert not next(entry).is_due().is_due


def test_due_at_is_right_across_a_dst_change(celery_app, clock):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    celery_app.conf.timezone = "Europe/Paris"
    paris = ZoneInfo("Europe/Paris")
    clock.current = datetime(2026, 3, 28, 12, 0, tzinfo=paris)  # clocks go forward tonight
    entry = make(celery_app, sched=crontab(hour=9, minute=0), last_run_at=clock())

    assert entry.due_at == datetime(2026, 3, 29, 9, 0, tzinfo=paris)  # 07:00 UTC, not 08:00


@pytest.mark.parametrize("ago", [0, 1, 59, 60, 61, 3600])
@pytest.mark.parametrize("relative", [False, True])
def test_an_interval_decides_as_celery_does(celery_app, clock, ago, relative):
    # plain intervals take a fast path; it must agree with Celery's own schedule
    sched = schedule(timedelta(seconds=60), relative=relative, app=celery_app)
    last = clock() - timedelta(seconds=ago, milliseconds=250)
    entry = make(celery_app, sched=sched, last_run_at=last)

    assert entry.is_due() == sched.is_due(last)
    expected = clock() + max(sched.remaining_estimate(last), timedelta(0))
    assert entry.due_at == expected


def test_an_interval_never_run_is_due_now(celery_app, clock):
    entry = make(celery_app, sched=every(60))
    entry.last_run_at = None

    assert entry.is_due() == (True, 60.0)
    assert entry.due_at == clock()


def test_an_interval_reads_a_naive_last_run_as_utc(celery_app, clock):
    celery_app.conf.timezone = "Europe/Paris"
    naive = clock().replace(tzinfo=None) - timedelta(seconds=30)
    entry = make(celery_app, sched=every(60), last_run_at=naive)

    assert entry.due_at == clock() + timedelta(seconds=30)
    assert entry.is_due() == (False, 30.0)


def test_an_interval_across_a_dst_change_counts_elapsed_time(celery_app, clock):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    celery_app.conf.timezone = "Europe/Paris"
    paris = ZoneInfo("Europe/Paris")
    # 01:30 CET, an hour before clocks go forward; every 2 hours: due at 03:30 UTC+1 + 1 h,
    # i.e. 04:30 CEST, two real hours later (not 03:30 CEST, one hour later)
    last = datetime(2026, 3, 29, 1, 30, tzinfo=paris)
    entry = make(celery_app, sched=every(7200), last_run_at=last)
    clock.current = datetime(2026, 3, 29, 4, 0, tzinfo=paris)  # 1.5 real hours later

    assert entry.due_at == datetime(2026, 3, 29, 4, 30, tzinfo=paris)
    assert entry.is_due() == (False, 1800.0)


def test_save_many_only_changed_writes_nothing_for_unchanged_entries(celery_app, round_trips):
    entries = [make(celery_app, name=f"e{n}") for n in range(3)]
    assert RedBeatSchedulerEntry.save_many(entries, app=celery_app) == 3

    again = [make(celery_app, name=f"e{n}") for n in range(3)]
    again[1] = make(celery_app, name="e1", sched=every(5))  # one definition changed
    round_trips.round_trips = 0

    written = RedBeatSchedulerEntry.save_many(again, app=celery_app, only_changed=True)

    assert written == 1
    assert round_trips.round_trips == 2  # one read, one write
    assert RedBeatSchedulerEntry.from_key("redbeat:e1", app=celery_app).schedule == every(5)


def test_save_many_only_changed_restores_an_entry_missing_from_the_schedule(
    celery_app, redis_client
):
    RedBeatSchedulerEntry.save_many([make(celery_app)], app=celery_app)
    redis_client.zrem(SCHEDULE_KEY, "redbeat:add")

    written = RedBeatSchedulerEntry.save_many(
        [make(celery_app)], app=celery_app, only_changed=True
    )

    assert written == 1
    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:add") is not None
