"""``manage.py redbeat_status``: the lock, the schedule, and Redis settings that risk it."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_redbeat.beat.entry import RedBeatSchedulerEntry

pytestmark = pytest.mark.usefixtures("django_celery_app")

LOCK = "redbeat::lock"
SCHEDULE = "redbeat::schedule"


def status(*args: str) -> str:
    out = StringIO()
    call_command("redbeat_status", *args, stdout=out)
    return out.getvalue()


def status_json(*args: str) -> dict:
    return json.loads(status("--json", *args))


def add(celery_app, redis_client, name: str, due_in: float, task: str = "tests.add") -> None:
    """An entry whose score is ``due_in`` seconds from the test clock's now (-1: never)."""
    entry = RedBeatSchedulerEntry(name, task, 60, app=celery_app).save()
    score = -1 if due_in == -1 else celery_app.now().timestamp() + due_in
    redis_client.zadd(SCHEDULE, {entry.key: score})


@pytest.fixture
def schedule(celery_app, redis_client):
    add(celery_app, redis_client, "overdue", -120)
    add(celery_app, redis_client, "due", -10, task="tests.due")
    add(celery_app, redis_client, "soon", 60)
    add(celery_app, redis_client, "later", 3600)
    add(celery_app, redis_client, "disabled", -1)
    redis_client.sadd("redbeat::statics", "soon")


def test_an_empty_schedule(redis_client):
    out = status()
    assert "Entries   0 (0 scheduled, 0 disabled or finished, 0 static); 0 due now, 0 over" in out
    assert "Lock      redbeat::lock is free: no beat is sending" in out
    assert "Next      nothing scheduled" in out


def test_counts_and_the_next_entries(schedule):
    out = status()
    assert (
        "Entries   5 (4 scheduled, 1 disabled or finished, 1 static); 2 due now, 1 overdue" in out
    )
    lines = out.splitlines()
    start = lines.index("Next 4:")
    assert [line.split()[-2:] for line in lines[start + 1 : start + 5]] == [
        ["overdue", "tests.add"], ["due", "tests.due"], ["soon", "tests.add"],
        ["later", "tests.add"],
    ]  # fmt: skip
    assert "2026-01-15T11:58:00+00:00  due 120 s ago" in out
    assert "2026-01-15T12:01:00+00:00  in 60 s" in out


def test_count_and_overdue_after(schedule):
    found = status_json("--count", "2", "--overdue-after", "5")
    assert [entry["name"] for entry in found["next"]] == ["overdue", "due"]
    assert found["entries"]["overdue"] == 2
    assert status_json("-n", "0")["next"] == []


def test_the_lock_holder_and_its_remaining_time(redis_client):
    redis_client.set(LOCK, "beat-host:4242:0123456789ab", px=25_000)
    out = status()
    assert re.search(
        r"Lock      redbeat::lock held by beat-host \(pid 4242\), expires in 2\d\.\d s", out
    )
    lock = status_json()["lock"]
    assert (lock["host"], lock["pid"], lock["holder"]) == (
        "beat-host",
        4242,
        "beat-host:4242:0123456789ab",
    )
    assert 20 < lock["ttl"] <= 25


def test_a_celery_redbeat_token_is_shown_as_it_is(redis_client):
    redis_client.set(LOCK, "9f86d081884c7d65", px=25_000)
    assert "held by '9f86d081884c7d65', expires in" in status()


@override_settings(REDBEAT_LOCK_KEY=None)
def test_without_a_lock():
    assert "Lock      none (REDBEAT_LOCK_KEY is None: every beat sends)" in status()


def test_json_output(schedule):
    found = status_json()
    assert set(found) == {"now", "redis", "key_prefix", "entries", "lock", "next", "risks"}
    assert found["entries"] == {
        "total": 5, "scheduled": 4, "disabled_or_finished": 1, "due": 2, "overdue": 1,
        "static": 1,
    }  # fmt: skip
    assert found["next"][0] == {
        "name": "overdue", "task": "tests.add", "due_at": "2026-01-15T11:58:00+00:00",
        "due_in": -120.0, "last_outcome": None,
        "counters": {
            "skipped_run_count": 0, "missed_run_count": 0, "failed_run_count": 0,
            "consecutive_failures": 0,
        },
    }  # fmt: skip
    assert found["redis"]["version"]


def test_json_output_has_each_entrys_counters_and_last_outcome(schedule, redis_client):
    redis_client.hset("redbeat:overdue", mapping={"failed_run_count": 3, "missed_run_count": 1})
    redis_client.lpush("redbeat::history:overdue", json.dumps({"outcome": "failed"}))
    [entry] = [e for e in status_json()["next"] if e["name"] == "overdue"]
    assert entry["counters"]["failed_run_count"] == 3
    assert entry["counters"]["missed_run_count"] == 1
    assert entry["last_outcome"] == "failed"


def test_an_unreadable_entry_is_listed_without_its_task(celery_app, redis_client):
    add(celery_app, redis_client, "broken", 30)
    redis_client.hset("redbeat:broken", "definition", "{not json")
    assert "broken  (unreadable definition)" in status()


def test_overdue_entries_without_a_beat_are_a_risk(schedule):
    assert "1 entries are overdue by more than 60 s and no beat holds the lock" in status()


def test_an_evicting_policy_and_no_persistence_are_risks(own_redis):
    server = redis.Redis.from_url(own_redis.url)
    server.config_set("maxmemory", "100mb")
    server.config_set("maxmemory-policy", "allkeys-lru")
    out = status()
    assert "maxmemory-policy is allkeys-lru: when Redis reaches maxmemory it may evict" in out
    assert "Redis persists nothing (no RDB snapshots, no AOF)" in out
    assert "maxmemory 104857600, maxmemory-policy allkeys-lru; no RDB snapshots, AOF off" in out

    server.config_set("maxmemory-policy", "noeviction")
    server.config_set("save", "3600 1")
    out = status()
    assert "Risks     none found" in out
    assert "RDB save '3600 1', AOF off" in out


def test_config_not_allowed_falls_back_to_info(own_redis, django_celery_app):
    server = redis.Redis.from_url(own_redis.url)
    server.acl_setuser(
        "watcher", enabled=True, passwords=["+w4tch"], keys=["*"], channels=["*"],
        commands=["+@all", "-config"],
    )  # fmt: skip
    django_celery_app.conf.redbeat_redis_url = own_redis.url.replace("//", "//watcher:w4tch@")
    found = status_json()
    assert found["redis"]["maxmemory_policy"] == "noeviction"
    assert (found["redis"]["aof"], found["redis"]["rdb_save"]) == (False, None)
    assert "RDB unknown (CONFIG not allowed), AOF off" in status()


def test_the_password_is_never_shown(own_redis, django_celery_app):
    redis.Redis.from_url(own_redis.url).config_set("requirepass", "s3cret")
    django_celery_app.conf.redbeat_redis_url = own_redis.url.replace("//", "//:s3cret@")
    out = status() + status("--json")
    assert "s3cret" not in out
    assert "redis://:**@127.0.0.1" in out


def test_redis_down_is_a_command_error(own_redis):
    own_redis.stop()
    with pytest.raises(CommandError, match="Redis cannot be read"):
        status()


def test_a_negative_count_is_refused():
    with pytest.raises(CommandError, match="--count"):
        status("--count", "-1")


@override_settings(REDBEAT_CELERY_APP="nowhere.celery.app")
def test_an_app_that_cannot_be_imported_is_a_command_error():
    with pytest.raises(CommandError, match="REDBEAT_CELERY_APP = 'nowhere.celery.app' cannot"):
        status()
