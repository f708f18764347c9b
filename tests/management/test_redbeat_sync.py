"""``manage.py redbeat_sync``: each kind of drift found, reported, and repaired."""

from __future__ import annotations

from datetime import datetime, timezone
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import QuerySet

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.decoder import dumps
from django_redbeat.models import PeriodicTask
from django_redbeat.sync import bridge
from tests.django_fixtures import make_task, stored

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

SCHEDULE = "redbeat::schedule"


def raw_update(name: str, **fields) -> None:
    """An update that fires no signal and does not sync (a plain QuerySet, as raw code would)."""
    QuerySet(PeriodicTask).filter(name=name).update(**fields)


def raw_delete(name: str) -> None:
    table = PeriodicTask._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE name = %s", [name])


def run(*args: str) -> str:
    out = StringIO()
    call_command("redbeat_sync", *args, stdout=out)
    return out.getvalue()


def test_in_step(redis_client):
    make_task()
    assert run() == "Redis matches the database.\n"


def test_missing_after_a_flush_is_rebuilt(celery_app, redis_client):
    make_task(name="a")
    make_task(name="b", enabled=False)
    redis_client.flushall()
    report = run()
    assert "missing   a  (in the database, not in Redis)" in report
    assert "missing   b" in report
    assert "2 to fix: run with --repair" in report
    assert redis_client.keys("*") == []  # a report writes nothing
    assert "Wrote 2 entries, removed 0." in run("--repair")
    assert stored(celery_app, "a").enabled and not stored(celery_app, "b").enabled
    assert redis_client.zscore(SCHEDULE, "redbeat:b") == -1
    assert run() == "Redis matches the database.\n"


def test_differing_definition_is_rewritten_keeping_run_state(celery_app, redis_client):
    row = make_task()
    last_run = datetime(2026, 1, 15, 11, 58, tzinfo=timezone.utc)
    redis_client.hset(
        "redbeat:job", "meta", dumps({"last_run_at": last_run, "total_run_count": 6})
    )
    raw_update(row.name, task="tests.other")
    assert "differing job" in run()
    run("--repair")
    entry = stored(celery_app)
    assert entry.task == "tests.other"
    assert (entry.last_run_at, entry.total_run_count) == (last_run, 6)


def test_an_entry_without_the_mark_is_differing(redis_client):
    make_task()
    redis_client.hdel("redbeat:job", bridge.MANAGED_FIELD)
    assert "differing job" in run()
    run("--repair")
    assert redis_client.hget("redbeat:job", bridge.MANAGED_FIELD) == bridge.MANAGED_BY


def test_an_unreadable_entry_is_differing(celery_app, redis_client):
    make_task()
    redis_client.hset("redbeat:job", "definition", "{not json")
    assert "differing job" in run()
    run("--repair")
    assert stored(celery_app).task == "tests.add"


def test_stale_schedule_membership(redis_client):
    make_task(name="gone-from-zset")
    make_task(name="disabled-but-due", enabled=False)
    redis_client.zrem(SCHEDULE, "redbeat:gone-from-zset")
    redis_client.zadd(SCHEDULE, {"redbeat:disabled-but-due": 1})
    report = run()
    assert "stale     gone-from-zset" in report
    assert "stale     disabled-but-due" in report
    run("--repair")
    assert redis_client.zscore(SCHEDULE, "redbeat:gone-from-zset") > 0
    assert redis_client.zscore(SCHEDULE, "redbeat:disabled-but-due") == -1


def test_orphans_are_removed_and_foreign_entries_kept(celery_app, redis_client):
    make_task(name="orphan")
    raw_delete("orphan")
    RedBeatSchedulerEntry("static", "tests.add", 60, app=celery_app).save()
    redis_client.sadd("redbeat::statics", "static")
    assert "orphaned  orphan" in run()
    assert "Wrote 0 entries, removed 1." in run("--repair")
    assert redis_client.exists("redbeat:orphan") == 0
    assert redis_client.zscore(SCHEDULE, "redbeat:orphan") is None
    assert redis_client.exists("redbeat:static") == 1


def test_dry_run_shows_what_it_would_do_and_writes_nothing(redis_client):
    make_task(name="a")
    make_task(name="b")
    redis_client.delete("redbeat:a")
    raw_delete("b")
    report = run("--repair", "--dry-run")
    assert "missing   a" in report
    assert "orphaned  b" in report
    assert "Would write 1 entries and remove 1." in report
    assert redis_client.exists("redbeat:a") == 0
    assert redis_client.exists("redbeat:b") == 1


def test_invalid_rows_are_reported_and_their_entries_kept(redis_client):
    make_task()
    raw_update("job", kind="crontab", minute="99")
    report = run("--repair")
    assert "invalid   job" in report
    assert "1 invalid task(s) left as they are" in report
    assert redis_client.exists("redbeat:job") == 1


def test_a_custom_key_prefix_with_glob_characters(celery_app, redis_client):
    celery_app.conf.redbeat_key_prefix = "beat[1]*:"
    make_task()
    raw_delete("job")
    assert "orphaned  job" in run()
    run("--repair")
    assert redis_client.exists("beat[1]*:job") == 0


def test_redis_down_is_a_command_error(own_redis):
    own_redis.stop()
    with pytest.raises(CommandError, match="Redis cannot be read or written"):
        run()
