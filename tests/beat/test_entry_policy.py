"""An entry's run policy in Redis: its own hash field, written only when not the default, so
an entry without policies is stored byte for byte as before and as celery-redbeat 2.4 reads it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from celery.schedules import schedule

from django_redbeat.beat.run_policy import DEFAULT, POLICY_FIELD, RunPolicy
from django_redbeat.exceptions import DecodeError
from django_redbeat.schedulers import RedBeatSchedulerEntry

#: An entry as this project wrote it before run policies existed, and as celery-redbeat 2.4
#: writes it (clock fixture: 2026-01-15 12:00 UTC).
TODAY = {
    "definition": (
        '{"name": "add", "task": "tests.add", "args": [1], "kwargs": {}, "options": {"queue": '
        '"q"}, "schedule": {"__type__": "interval", "every": 60.0, "relative": false}, '
        '"enabled": true}'
    ),
    "meta": (
        '{"last_run_at": {"__type__": "datetime", "year": 2026, "month": 1, "day": 15, '
        '"hour": 12, "minute": 0, "second": 0, "microsecond": 0, "timezone": 0.0}}'
    ),
}


def make(app, **kwargs) -> RedBeatSchedulerEntry:
    return RedBeatSchedulerEntry(
        "add", "tests.add", schedule(timedelta(seconds=60)), args=[1], options={"queue": "q"},
        last_run_at=app.now(), app=app, **kwargs,
    )  # fmt: skip


def test_an_entry_without_policies_is_stored_exactly_as_before(celery_app, redis_client):
    make(celery_app).save()
    assert redis_client.hgetall("redbeat:add") == TODAY


def test_a_policy_goes_in_its_own_field_and_comes_back(celery_app, redis_client):
    policy = RunPolicy(overlap="skip", overlap_timeout=300, jitter=5)
    make(celery_app, policy=policy).save()

    stored = redis_client.hgetall("redbeat:add")
    assert stored["definition"] == TODAY["definition"]  # the definition celery-redbeat reads
    assert stored[POLICY_FIELD] == '{"jitter":5,"overlap":"skip","overlap_timeout":300}'
    assert RedBeatSchedulerEntry.from_key("redbeat:add", app=celery_app).policy == policy


def test_a_policy_set_back_to_the_default_removes_the_field(celery_app, redis_client):
    make(celery_app, policy=RunPolicy(max_runs=3)).save()
    make(celery_app).save()
    assert POLICY_FIELD not in redis_client.hgetall("redbeat:add")
    assert RedBeatSchedulerEntry.from_key("redbeat:add", app=celery_app).policy is DEFAULT


def test_an_entry_written_by_celery_redbeat_has_the_default_policy(celery_app, redis_client):
    redis_client.hset("redbeat:add", mapping=TODAY)
    redis_client.zadd("redbeat::schedule", {"redbeat:add": 0})
    assert RedBeatSchedulerEntry.from_key("redbeat:add", app=celery_app).policy is DEFAULT


def test_policy_names_in_the_options_are_the_policy_not_apply_async_options(celery_app):
    entry = make(celery_app)
    named = RedBeatSchedulerEntry(
        "add", "tests.add", entry.schedule, options={"queue": "q", "overlap": "skip"},
        app=celery_app,
    )  # fmt: skip
    assert named.policy == RunPolicy(overlap="skip")
    assert named.options == {"queue": "q"}


def test_an_unreadable_stored_policy_is_a_decode_error_naming_the_key(celery_app, redis_client):
    redis_client.hset("redbeat:add", mapping={**TODAY, POLICY_FIELD: '{"overlap": "some"}'})
    with pytest.raises(DecodeError, match="redbeat:add: .*overlap"):
        RedBeatSchedulerEntry.from_key("redbeat:add", app=celery_app)


def test_bounds_and_max_runs_give_the_score(celery_app, clock):
    start = clock.current + timedelta(hours=1)
    bounded = make(celery_app, policy=RunPolicy(start_time=start))
    assert bounded.due_at == start  # an interval counts from its start bound
    ended = make(celery_app, policy=RunPolicy(end_time=clock.current + timedelta(seconds=30)))
    assert ended.due_at is None and ended.score == -1  # its next slot is after the end
    done = make(celery_app, policy=RunPolicy(max_runs=2), total_run_count=2)
    assert done.due_at is None
    assert make(celery_app, policy=RunPolicy(max_runs=3), total_run_count=2).due_at == (
        clock.current + timedelta(seconds=60)
    )


def test_a_crontab_starts_at_its_first_slot_from_the_start_bound(celery_app, clock):
    from django_redbeat.schedules import crontab

    start = datetime(2026, 1, 16, 9, 30, tzinfo=timezone.utc)
    entry = RedBeatSchedulerEntry(
        "cron", "tests.add", crontab(minute="0", hour="*"), last_run_at=clock.current,
        policy=RunPolicy(start_time=start), app=celery_app,
    )  # fmt: skip
    assert entry.due_at == datetime(2026, 1, 16, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "policy", [DEFAULT, RunPolicy(catch_up="all", overlap="skip", jitter=5)], ids=["none", "some"]
)
def test_celery_redbeat_itself_loads_an_entry_written_here(celery_app, redis_client, policy):
    from redbeat.schedulers import RedBeatSchedulerEntry as TheirEntry

    make(celery_app, policy=policy).save()
    theirs = TheirEntry.from_key("redbeat:add", app=celery_app)

    assert (theirs.name, theirs.task, theirs.args, theirs.options) == (
        "add", "tests.add", [1], {"queue": "q"},
    )  # fmt: skip
    assert theirs.schedule.run_every == timedelta(seconds=60)
    assert theirs.last_run_at == celery_app.now()
