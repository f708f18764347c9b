"""The public behaviour a user switching from celery-redbeat 2.4 relies on, as celery-redbeat
has it (COMPATIBILITY.rst lists where we differ on purpose). Real Redis, a real Celery app, the
app's clock swapped."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
from celery.schedules import schedule

from django_redbeat.decoder import RedBeatJSONDecoder, RedBeatJSONEncoder, to_timestamp
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry, get_redis
from django_redbeat.schedules import rrule

PREFIX = "redbeat:"
SCHEDULE = "redbeat::schedule"


def entry(app, name="job", every=60, **kwargs) -> RedBeatSchedulerEntry:
    return RedBeatSchedulerEntry(name, "tests.add", schedule(timedelta(seconds=every)), app=app,
                                 **kwargs)  # fmt: skip


def round_trip(value):
    return json.loads(json.dumps(value, cls=RedBeatJSONEncoder), cls=RedBeatJSONDecoder)


# ---- rrule: count, until, time zones -------------------------------------------------------


def minutely(clock, **kwargs) -> rrule:
    return rrule("MINUTELY", nowfun=clock, **kwargs)


def test_an_rrule_with_count_1_is_due_once_then_finished(clock):
    rule = minutely(clock, dtstart=clock() + timedelta(microseconds=400_000), count=1)

    assert rule.is_due(datetime(1970, 1, 1, tzinfo=timezone.utc)) == (True, None)
    assert rule.is_due(clock()) == (False, None)
    assert rule.remaining_estimate(clock() + timedelta(minutes=1)) is None


def test_an_rrule_with_count_2_has_one_more_run_after_the_first(clock):
    rule = minutely(clock, dtstart=clock(), count=2)

    assert rule.remaining_estimate(clock()) == timedelta(minutes=1)
    assert rule.remaining_estimate(clock() + timedelta(minutes=1)) is None


def test_an_rrule_ends_at_until(clock):
    rule = minutely(clock, dtstart=clock(), until=clock() + timedelta(minutes=2))

    assert rule.remaining_estimate(clock() + timedelta(minutes=1)) == timedelta(minutes=2)
    assert rule.remaining_estimate(clock() + timedelta(minutes=2)) is None


def test_until_and_dtstart_keep_their_offsets_through_json(clock):
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2026, 3, 1, 9, 0, tzinfo=plus_two)
    rule = rrule("DAILY", dtstart=start, until=start + timedelta(days=3))

    loaded = round_trip(rule)

    assert loaded.until == start + timedelta(days=3)
    assert loaded.dtstart.utcoffset() == loaded.until.utcoffset() == timedelta(hours=2)
    assert list(loaded.rrule) == list(rule.rrule)  # the same four occurrences


def test_until_in_utc_survives_the_json_of_a_celery_redbeat_entry():
    # as celery-redbeat 2.4 writes it
    stored = {"__type__": "rrule", "freq": 5, "dtstart": 1451480362, "dtstart_tz": 0,
              "interval": 1, "count": None, "until": 1451566762, "until_tz": 0}  # fmt: skip

    loaded = json.loads(json.dumps(stored), cls=RedBeatJSONDecoder)

    assert loaded.until == datetime(2015, 12, 31, 12, 59, 22, tzinfo=timezone.utc)


# ---- the entry -----------------------------------------------------------------------------


def test_key_is_the_prefix_and_the_name(celery_app):
    assert entry(celery_app, "nightly").key == PREFIX + "nightly"
    assert RedBeatSchedulerEntry.generate_key(app=celery_app, name="x") == PREFIX + "x"


def test_args_are_stored_as_given(celery_app, redis_client):
    entry(celery_app).save()

    definition = json.loads(redis_client.hget(PREFIX + "job", "definition"))

    assert definition["args"] is None and definition["kwargs"] == {}


def test_due_at_of_an_entry_that_never_ran_is_now(celery_app, clock, redis_client):
    job = entry(celery_app).save()
    redis_client.hdel(job.key, "meta")  # no run state: never run

    assert RedBeatSchedulerEntry.from_key(job.key, app=celery_app).due_at == clock()


def test_due_at_is_a_period_after_the_last_run(celery_app, clock):
    job = entry(celery_app, last_run_at=clock() - timedelta(seconds=10))

    assert job.due_at == clock() + timedelta(seconds=50)
    assert job.score == to_timestamp(clock() + timedelta(seconds=50))


def test_an_overdue_entry_is_due_now(celery_app, clock):
    job = entry(celery_app, last_run_at=clock() - timedelta(hours=10))

    assert job.due_at == clock()
    assert job.is_due().is_due


def test_is_due_says_when_to_look_again(celery_app, clock):
    job = entry(celery_app, last_run_at=clock() - timedelta(seconds=45))

    assert job.is_due() == (False, 15)


def test_reschedule_counts_the_period_from_now_and_moves_the_score(
    celery_app, clock, redis_client
):
    job = entry(celery_app, last_run_at=clock() - timedelta(hours=1)).save()
    # overdue: scored at the slot it is due for, a minute after its last run
    assert redis_client.zscore(SCHEDULE, job.key) == to_timestamp(clock() - timedelta(minutes=59))

    job.reschedule()

    assert redis_client.zscore(SCHEDULE, job.key) == to_timestamp(clock() + timedelta(minutes=1))
    assert RedBeatSchedulerEntry.from_key(job.key, app=celery_app).last_run_at == clock()


# ---- the scheduler -------------------------------------------------------------------------


def test_update_from_dict_adds_an_entry(celery_app, clock):
    beat = RedBeatScheduler(app=celery_app)

    beat.update_from_dict({"new": {"task": "tests.add", "schedule": 30}})

    stored = RedBeatSchedulerEntry.from_key(PREFIX + "new", app=celery_app)
    assert stored.task == "tests.add" and stored.schedule.run_every == timedelta(seconds=30)


def test_update_from_dict_keeps_the_run_state_of_an_entry_in_redis(celery_app, clock):
    ran_at = clock() - timedelta(seconds=20)
    job = entry(celery_app, "job", every=60, last_run_at=ran_at).save()
    job.reschedule(ran_at)
    beat = RedBeatScheduler(app=celery_app)

    beat.update_from_dict({"job": {"task": "tests.add", "schedule": 120, "args": [1]}})

    stored = RedBeatSchedulerEntry.from_key(job.key, app=celery_app)
    assert stored.args == [1] and stored.schedule.run_every == timedelta(seconds=120)
    assert stored.last_run_at == ran_at  # the new period counts from the last run
    assert stored.due_at == ran_at + timedelta(seconds=120)


def test_schedule_holds_the_due_entries_and_the_next_one(celery_app, clock):
    for name, ran_ago in (("due", 70), ("next", 59), ("after-next", 58), ("later", -1000)):
        entry(celery_app, name, last_run_at=clock() - timedelta(seconds=ran_ago)).save()
    beat = RedBeatScheduler(app=celery_app, max_interval=300)

    assert set(beat.schedule) == {"due", "next"}


def test_schedule_leaves_out_the_next_one_beyond_max_interval(celery_app, clock):
    entry(celery_app, "far", every=3600, last_run_at=clock()).save()
    beat = RedBeatScheduler(app=celery_app, max_interval=60)

    assert beat.schedule == {}


def test_inherited_broker_options_are_named_never_their_values(celery_app, caplog):
    celery_app.conf.broker_transport_options = {"visibility_timeout": 9, "password": "hunter2"}
    caplog.set_level(logging.DEBUG, logger="celery.beat")

    with pytest.warns(DeprecationWarning, match="broker_transport_options"):
        client = get_redis(celery_app)

    assert "password" not in client.connection_pool.connection_kwargs
    assert "password, visibility_timeout" in caplog.text and "hunter2" not in caplog.text
