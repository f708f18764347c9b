"""bridge.rebuild, what a starting beat runs: only the entries not as their rows say are written.

Each entry the database owns carries its row's version (row_versions.py); the rebuild compares the
versions of all rows with Redis in one script call per chunk, and writes the others only.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import QuerySet

from django_redbeat import models
from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.decoder import dumps
from django_redbeat.models import PeriodicTask
from django_redbeat.sync import bridge, drift, row_versions
from tests.django_fixtures import make_task, stored

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

SCHEDULE = "redbeat::schedule"
#: The commands that write an entry's hash or its score.
ENTRY_WRITES = ("hset", "hsetnx", "hdel", "zadd", "zrem", "del")

make_task = functools.partial(make_task, every=1, period="hours")


def entry_writes(redis_client) -> int:
    """Calls of the commands that write entries, since the server started."""
    stats = redis_client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ENTRY_WRITES)


def rebuild_writes(celery_app, redis_client) -> int:
    before = entry_writes(redis_client)
    assert bridge.rebuild(celery_app) == []
    return entry_writes(redis_client) - before


def set_run_state(redis_client, name: str, count: int, last_run_at: datetime) -> None:
    meta = {"last_run_at": last_run_at, "total_run_count": count}
    redis_client.hset("redbeat:" + name, "meta", dumps(meta))


def raw_update(sql: str, *params: str) -> None:
    """An edit that bypasses Django (and so Redis): raw SQL on the table."""
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=PeriodicTask._meta.db_table), params)


@pytest.fixture
def tasks(clock):
    zone = ZoneInfo("Europe/Paris")
    return [
        make_task(name="interval", args=[1, "x"], kwargs={"b": 1, "a": [2]}, queue="q"),
        make_task(name="disabled", enabled=False),
        make_task(name="crontab", kind="crontab", minute="0", hour="9", timezone="Europe/Paris"),
        make_task(name="rrule", kind="rrule", rrule="FREQ=DAILY;BYHOUR=8", one_off=True),
        make_task(name="solar", kind="solar", solar_event="sunset", latitude=48, longitude=2),
        make_task(name="oneoff", kind="oneoff", run_at=clock().astimezone(zone)),
        make_task(name="expiring", expires=clock().astimezone(zone) + timedelta(days=1)),
    ]


def test_nothing_is_written_when_nothing_changed(celery_app, redis_client, tasks):
    assert rebuild_writes(celery_app, redis_client) == 0


def test_rows_written_in_bulk_from_memory_have_the_versions_read_back(celery_app, redis_client):
    # bulk_create syncs the objects it was given, not rows read back: the same versions
    zone = ZoneInfo("America/New_York")
    PeriodicTask.objects.bulk_create([
        PeriodicTask(name="a", task="tests.add", kind="interval", every=5, period="minutes",
                     args=(1, 2), headers={"z": 1, "y": 2}),
        PeriodicTask(name="b", task="tests.add", kind="oneoff", one_off=True,
                     run_at=datetime(2026, 3, 1, 9, 30, tzinfo=zone)),
    ])  # fmt: skip
    assert redis_client.hget("redbeat:a", bridge.VERSION_FIELD)
    assert rebuild_writes(celery_app, redis_client) == 0


def test_unchanged_rows_cost_one_script_call_per_chunk(celery_app, counting_redis, tasks):
    counting_redis.round_trips = 0
    bridge.rebuild(celery_app)
    assert counting_redis.round_trips == 1


def test_what_a_flushed_redis_lost_comes_back(celery_app, redis_client, tasks):
    redis_client.flushall()
    bridge.rebuild(celery_app)
    assert stored(celery_app, "interval").args == [1, "x"]
    assert redis_client.zscore(SCHEDULE, "redbeat:disabled") == -1
    assert redis_client.zcard(SCHEDULE) == len(tasks)
    assert rebuild_writes(celery_app, redis_client) == 0


def test_a_missing_entry_is_recreated_with_the_run_state_left(celery_app, redis_client, clock):
    make_task(name="kept")
    make_task(name="gone")
    last_run = clock() - timedelta(minutes=10)
    set_run_state(redis_client, "kept", 7, last_run)
    redis_client.hdel("redbeat:kept", "definition", bridge.MANAGED_FIELD, bridge.VERSION_FIELD)
    redis_client.zrem(SCHEDULE, "redbeat:kept")
    redis_client.delete("redbeat:gone")
    redis_client.zrem(SCHEDULE, "redbeat:gone")

    bridge.rebuild(celery_app)

    kept = stored(celery_app, "kept")
    assert (kept.total_run_count, kept.last_run_at) == (7, last_run)
    assert (
        redis_client.zscore(SCHEDULE, "redbeat:kept")
        == (last_run + timedelta(hours=1)).timestamp()
    )
    assert stored(celery_app, "gone").task == "tests.add"
    assert redis_client.zscore(SCHEDULE, "redbeat:gone") is not None


def test_an_entry_out_of_the_schedule_is_put_back(celery_app, redis_client):
    make_task()
    redis_client.zrem(SCHEDULE, "redbeat:job")
    bridge.rebuild(celery_app)
    assert redis_client.zscore(SCHEDULE, "redbeat:job") is not None


def test_a_row_edited_by_raw_sql_is_written_with_its_run_state(celery_app, redis_client, clock):
    make_task()
    make_task(name="other")
    last_run = clock() - timedelta(minutes=5)
    set_run_state(redis_client, "job", 3, last_run)
    raw_update("UPDATE {table} SET task = %s, every = 2 WHERE name = %s", "tests.other", "job")

    before = entry_writes(redis_client)
    bridge.rebuild(celery_app)

    assert entry_writes(redis_client) - before == 3  # this entry only: HSET, HSETNX, ZADD
    entry = stored(celery_app)
    assert (entry.task, entry.schedule.run_every) == ("tests.other", timedelta(hours=2))
    assert (entry.total_run_count, entry.last_run_at) == (3, last_run)
    assert (
        redis_client.zscore(SCHEDULE, "redbeat:job") == (last_run + timedelta(hours=2)).timestamp()
    )


def test_a_queryset_update_that_redis_missed_is_written(celery_app, redis_client):
    make_task()
    # QuerySet.update itself, without the sync PeriodicTaskQuerySet adds: as if it had failed
    QuerySet.update(PeriodicTask.objects.filter(name="job"), enabled=False)
    assert redis_client.zscore(SCHEDULE, "redbeat:job") != -1
    bridge.rebuild(celery_app)
    assert not stored(celery_app).enabled
    assert redis_client.zscore(SCHEDULE, "redbeat:job") == -1


def test_an_edit_back_to_a_version_redis_saw_before_is_written(celery_app, redis_client):
    row = make_task()
    row.task = "tests.other"
    row.save()  # Redis holds this version now
    raw_update("UPDATE {table} SET task = %s WHERE name = %s", "tests.add", "job")
    bridge.rebuild(celery_app)
    assert stored(celery_app).task == "tests.add"


def test_entries_written_before_versions_are_written_once(celery_app, redis_client, tasks):
    for task in tasks:
        redis_client.hdel("redbeat:" + task.name, bridge.VERSION_FIELD)
    assert rebuild_writes(celery_app, redis_client) > 0
    assert rebuild_writes(celery_app, redis_client) == 0


def test_entries_written_without_a_version_are_written_again(celery_app, redis_client):
    make_task()
    entry = bridge.entry_for(PeriodicTask.objects.get(), celery_app)
    bridge.save_entries([entry], celery_app)  # no version given
    assert (
        redis_client.hget("redbeat:job", bridge.VERSION_FIELD).split(":")[0]
        == row_versions.UNKNOWN
    )
    assert rebuild_writes(celery_app, redis_client) > 0
    assert rebuild_writes(celery_app, redis_client) == 0


def test_an_entry_not_the_databases_is_taken_over(celery_app, redis_client):
    make_task()
    redis_client.hdel("redbeat:job", bridge.MANAGED_FIELD)  # as celery-redbeat writes entries
    bridge.rebuild(celery_app)
    assert redis_client.hget("redbeat:job", bridge.MANAGED_FIELD) == bridge.MANAGED_BY


def test_a_definition_written_by_other_code_is_written_again(celery_app, redis_client):
    make_task()
    # a save that keeps the other fields of the hash (the mark and the version included)
    RedBeatSchedulerEntry("job", "tests.static", 60, app=celery_app).save()
    bridge.rebuild(celery_app)
    assert stored(celery_app).task == "tests.add"


def test_a_disabled_task_scheduled_to_run_is_taken_out(celery_app, redis_client):
    make_task(enabled=False)
    redis_client.zadd(SCHEDULE, {"redbeat:job": 1})
    bridge.rebuild(celery_app)
    assert redis_client.zscore(SCHEDULE, "redbeat:job") == -1


def test_a_finished_entry_stays_finished(celery_app, redis_client, clock):
    make_task(kind="oneoff", run_at=clock() - timedelta(hours=1))
    set_run_state(redis_client, "job", 1, clock())
    redis_client.zadd(SCHEDULE, {"redbeat:job": -1})  # as beat leaves it after the run
    assert rebuild_writes(celery_app, redis_client) == 0


def test_another_time_zone_schedules_every_entry_again(celery_app, redis_client, tasks):
    celery_app.conf.timezone = "Asia/Tokyo"
    # an HSET and an HSETNX per entry, one ZADD for all
    assert rebuild_writes(celery_app, redis_client) == 2 * len(tasks) + 1
    assert rebuild_writes(celery_app, redis_client) == 0


def test_invalid_rows_are_reported_and_the_others_written(celery_app, redis_client):
    make_task(name="good")
    raw_update("UPDATE {table} SET kind = 'crontab', minute = '99' WHERE name = %s", "good")
    make_task(name="renamed")
    raw_update("UPDATE {table} SET name = %s WHERE name = %s", ":schedule", "renamed")
    make_task(name="fine")
    redis_client.flushall()

    failures = bridge.rebuild(celery_app)

    assert sorted(failure.name for failure in failures) == [":schedule", "good"]
    assert redis_client.type(SCHEDULE) == "zset"
    assert stored(celery_app, "fine").task == "tests.add"


def test_an_entry_whose_row_is_gone_is_left_to_redbeat_sync(celery_app, redis_client):
    make_task()
    raw_update("DELETE FROM {table}")  # Redis missed it
    bridge.rebuild(celery_app)
    assert redis_client.exists("redbeat:job") == 1


def test_redis_down_reports_every_task(own_redis, django_celery_app):
    make_task(name="a")
    make_task(name="b")
    own_redis.stop()
    failures = bridge.rebuild(django_celery_app)
    assert sorted(failure.name for failure in failures) == ["a", "b"]


def test_a_repair_writes_the_versions(celery_app, redis_client, tasks):
    redis_client.flushall()
    drift.repair(drift.find(celery_app), celery_app)  # manage.py redbeat_sync --repair
    assert rebuild_writes(celery_app, redis_client) == 0


def test_the_version_digests_every_field_but_the_admin_only_ones():
    fields = {field.name for field in PeriodicTask._meta.concrete_fields}
    assert set(row_versions.ENTRY_FIELDS) == fields - set(models.ADMIN_ONLY_FIELDS)


def test_the_fields_outside_the_version_make_no_difference_to_the_entry(celery_app):
    row = make_task()
    before = dumps(bridge.entry_for(row, celery_app).definition)
    row.description, row.source, row.source_digest = "new", "settings", "abc"
    row.date_changed = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert dumps(bridge.entry_for(row, celery_app).definition) == before
