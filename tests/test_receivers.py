"""Saves, renames and deletes reach Redis after commit; a rollback never does."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timezone

import pytest
from django.db import transaction

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.beat.scheduler import RedBeatScheduler
from django_redbeat.decoder import dumps
from django_redbeat.models import PeriodicTask
from django_redbeat.sync import bridge
from tests.django_fixtures import make_task, stored

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

SCHEDULE = "redbeat::schedule"


make_task = functools.partial(make_task, every=10, period="minutes")


def test_save_writes_the_entry(celery_app, redis_client):
    make_task(args=[1, 2], queue="fast")
    entry = stored(celery_app)
    assert (entry.task, entry.args, entry.options) == ("tests.add", [1, 2], {"queue": "fast"})
    assert redis_client.zscore(SCHEDULE, "redbeat:job") == entry.score


def test_nothing_reaches_redis_before_the_commit(redis_client):
    with transaction.atomic():
        make_task()
        assert redis_client.exists("redbeat:job") == 0
    assert redis_client.exists("redbeat:job") == 1


def test_a_rolled_back_save_never_reaches_redis(redis_client):
    with pytest.raises(RuntimeError), transaction.atomic():
        make_task()
        raise RuntimeError("roll back")
    assert redis_client.keys("*") == []


def test_a_rolled_back_edit_leaves_the_entry_as_it_was(celery_app):
    row = make_task()
    with pytest.raises(RuntimeError), transaction.atomic():
        row.task = "tests.other"
        row.save()
        raise RuntimeError("roll back")
    assert stored(celery_app).task == "tests.add"


def test_rename_removes_the_old_key(celery_app, redis_client):
    row = make_task(name="old")
    row.name = "new"
    row.save()
    assert redis_client.exists("redbeat:old") == 0
    assert redis_client.zscore(SCHEDULE, "redbeat:old") is None
    assert stored(celery_app, "new").task == "tests.add"


def test_delete_removes_the_entry(redis_client):
    make_task().delete()
    assert redis_client.keys("*") == []


def test_delete_removes_the_history_and_running_marker_too(redis_client):
    task = make_task()
    redis_client.lpush("redbeat::history:job", '{"outcome": "sent"}')
    redis_client.set("redbeat::running:job", "task-id", ex=60)
    task.delete()
    assert redis_client.keys("*") == []  # a new "job" starts with no history


def test_queryset_delete_removes_the_entries(redis_client):
    make_task(name="a")
    make_task(name="b")
    PeriodicTask.objects.all().delete()
    assert redis_client.keys("*") == []


def test_delete_and_recreate_in_one_transaction_keeps_the_entry(celery_app):
    make_task()
    with transaction.atomic():
        PeriodicTask.objects.get().delete()
        make_task(task="tests.other")
    assert stored(celery_app).task == "tests.other"


def test_disable_leaves_the_due_window_and_enable_returns(celery_app, redis_client):
    row = make_task()
    row.enabled = False
    row.save()
    assert redis_client.zscore(SCHEDULE, "redbeat:job") == -1
    assert stored(celery_app).enabled is False
    row.enabled = True
    row.save()
    assert redis_client.zscore(SCHEDULE, "redbeat:job") > 0


def test_editing_keeps_the_run_state(celery_app, redis_client, clock):
    row = make_task()
    last_run = datetime(2026, 1, 15, 11, 58, tzinfo=timezone.utc)
    redis_client.hset(
        "redbeat:job", "meta", dumps({"last_run_at": last_run, "total_run_count": 7})
    )
    row.every = 5
    row.save()
    entry = stored(celery_app)
    assert (entry.last_run_at, entry.total_run_count) == (last_run, 7)
    assert redis_client.zscore(SCHEDULE, "redbeat:job") == last_run.timestamp() + 5 * 60


def test_queryset_update_syncs_the_rows_it_touched(celery_app, redis_client):
    make_task(name="a")
    make_task(name="b")
    PeriodicTask.objects.update(enabled=False)
    assert redis_client.zscore(SCHEDULE, "redbeat:a") == -1
    assert redis_client.zscore(SCHEDULE, "redbeat:b") == -1


def test_queryset_update_of_names_removes_the_old_keys(celery_app, redis_client):
    make_task(name="a")
    PeriodicTask.objects.filter(name="a").update(name="z")
    assert redis_client.exists("redbeat:a") == 0
    assert stored(celery_app, "z").name == "z"


def test_bulk_create_and_bulk_update_sync(celery_app, redis_client):
    rows = PeriodicTask.objects.bulk_create(
        [PeriodicTask(name=name, task="tests.add", kind="interval", every=1, period="hours")
         for name in ("a", "b")]
    )  # fmt: skip
    assert stored(celery_app, "a").task == "tests.add"
    for row in rows:
        row.task = "tests.other"
    PeriodicTask.objects.bulk_update(rows, ["task"])
    assert {stored(celery_app, name).task for name in ("a", "b")} == {"tests.other"}


def test_a_static_entry_of_the_same_name_is_never_removed(celery_app, redis_client):
    static = RedBeatSchedulerEntry("nightly", "tests.add", 60, app=celery_app)
    static.save()
    bridge.remove_names(["nightly"])
    assert redis_client.exists("redbeat:nightly") == 1


def test_redis_down_keeps_the_database_save_and_logs_the_name(own_redis, caplog):
    own_redis.stop()
    with caplog.at_level(logging.ERROR, logger="django_redbeat.sync.bridge"):
        make_task(name="while-down")
    assert PeriodicTask.objects.filter(name="while-down").exists()
    assert "'while-down'" in caplog.text
    assert "redbeat_sync --repair" in caplog.text


def test_a_beat_taking_the_lock_rebuilds_what_redis_lost(celery_app, redis_client):
    make_task(name="a")
    make_task(name="b", enabled=False)
    redis_client.flushall()
    scheduler = RedBeatScheduler(app=celery_app, lazy=True)

    scheduler.tick()  # takes the lock, installs beat_schedule, sends schedule_installed

    assert stored(celery_app, "a").enabled
    assert redis_client.zscore(SCHEDULE, "redbeat:b") == -1
    scheduler.close()
