from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from celery.schedules import schedule

from django_redbeat.beat.lock import BeatLock
from django_redbeat.decoder import to_timestamp
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry

SCHEDULE_KEY = "redbeat::schedule"


def every(seconds: float) -> schedule:
    return schedule(timedelta(seconds=seconds))


def add_entry(app, name, seconds=60, **kwargs) -> RedBeatSchedulerEntry:
    kwargs.setdefault("options", {"queue": "q"})
    return RedBeatSchedulerEntry(name, "tests.add", every(seconds), app=app, **kwargs).save()


@pytest.fixture
def scheduler(celery_app):
    celery_app.conf.redbeat_lock_key = None  # these tests are about dispatch, not the lock
    beat = RedBeatScheduler(app=celery_app)
    yield beat
    beat.close()


def test_a_tick_sends_a_due_task_with_its_arguments_and_options(
    scheduler, celery_app, clock, broker
):
    add_entry(
        celery_app,
        "add",
        args=[1, 2],
        kwargs={"z": 3},
        options={"queue": "q", "priority": 7, "headers": {"tenant": "a"}},
    )
    clock.advance(seconds=60)

    scheduler.tick()

    [message] = broker.messages("q")
    assert message.headers["task"] == "tests.add"
    args, kwargs, _embed = message.payload
    assert (args, kwargs) == ([1, 2], {"z": 3})
    assert message.properties["priority"] == 7
    assert message.headers["tenant"] == "a"
    assert message.delivery_info["routing_key"] == "q"


def test_a_task_not_registered_in_this_app_is_sent_by_name(scheduler, celery_app, clock, broker):
    RedBeatSchedulerEntry(
        "remote", "other.service.task", every(60), args=[5], options={"queue": "q"}, app=celery_app
    ).save()
    clock.advance(seconds=60)

    scheduler.tick()

    [message] = broker.messages("q")
    assert message.headers["task"] == "other.service.task"
    assert message.payload[0] == [5]


def test_nothing_is_sent_before_it_is_due(scheduler, celery_app, clock, broker):
    add_entry(celery_app, "add")
    clock.advance(seconds=59)

    sleep = scheduler.tick()

    assert broker.messages("q") == []
    assert sleep == pytest.approx(1, abs=0.01)


def test_a_sent_entry_records_its_run_and_next_due_time(
    scheduler, celery_app, redis_client, clock
):
    entry = add_entry(celery_app, "add")
    clock.advance(seconds=60)

    scheduler.tick()

    stored = RedBeatSchedulerEntry.from_key(entry.key, app=celery_app)
    assert stored.total_run_count == 1
    assert stored.last_run_at == clock()
    assert redis_client.zscore(SCHEDULE_KEY, entry.key) == to_timestamp(clock()) + 60


def test_run_counts_accumulate_across_ticks(scheduler, celery_app, clock, broker):
    entry = add_entry(celery_app, "add", seconds=10)
    for _ in range(3):
        clock.advance(seconds=10)
        scheduler.tick()

    assert len(broker.messages("q")) == 3
    assert RedBeatSchedulerEntry.from_key(entry.key, app=celery_app).total_run_count == 3


CORRUPT_DEFINITIONS = {
    "bad json": "{not json",
    "unknown type": json.dumps(
        {"name": "x", "task": "tests.add", "schedule": {"__type__": "martian"}}
    ),
    "bad crontab": json.dumps(
        {
            "name": "x",
            "task": "tests.add",
            "schedule": {
                "__type__": "crontab",
                "minute": "99",
                "hour": "*",
                "day_of_week": "*",
                "day_of_month": "*",
                "month_of_year": "*",
            },
        }
    ),  # fmt: skip
    "extra crontab field": json.dumps(
        {
            "name": "x",
            "task": "tests.add",
            "schedule": {
                "__type__": "crontab",
                "minute": "1",
                "hour": "*",
                "day_of_week": "*",
                "day_of_month": "*",
                "month_of_year": "*",
                "second": "5",
            },
        }
    ),  # fmt: skip
    "extra definition field": json.dumps(
        {
            "name": "x",
            "task": "tests.add",
            "colour": "red",
            "schedule": {"__type__": "interval", "every": 5, "relative": False},
        }
    ),  # fmt: skip
}


@pytest.mark.parametrize("corruption", sorted(CORRUPT_DEFINITIONS))
def test_a_corrupt_entry_is_logged_skipped_and_kept(
    scheduler, celery_app, redis_client, clock, broker, caplog, corruption
):
    add_entry(celery_app, "good")
    redis_client.hset("redbeat:bad", "definition", CORRUPT_DEFINITIONS[corruption])
    redis_client.zadd(SCHEDULE_KEY, {"redbeat:bad": to_timestamp(clock())})
    clock.advance(seconds=60)

    with caplog.at_level(logging.ERROR, logger="celery.beat"):
        scheduler.tick()

    assert [m.headers["task"] for m in broker.messages("q")] == ["tests.add"]  # good one ran
    assert redis_client.hget("redbeat:bad", "definition") == CORRUPT_DEFINITIONS[corruption]
    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:bad") is not None  # not deleted
    assert any("redbeat:bad" in r.getMessage() for r in caplog.records)


def test_a_corrupt_entry_waits_before_it_is_tried_again(
    scheduler, celery_app, redis_client, clock
):
    redis_client.hset("redbeat:bad", "definition", "{")
    redis_client.zadd(SCHEDULE_KEY, {"redbeat:bad": to_timestamp(clock())})

    scheduler.tick()

    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:bad") > to_timestamp(clock())
    assert scheduler.schedule == {}


def test_a_schedule_member_without_its_hash_is_removed_and_logged(
    scheduler, redis_client, clock, caplog
):
    redis_client.zadd(SCHEDULE_KEY, {"redbeat:ghost": to_timestamp(clock())})

    with caplog.at_level(logging.ERROR, logger="celery.beat"):
        scheduler.tick()

    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:ghost") is None
    assert [r.levelno for r in caplog.records if "redbeat:ghost" in r.getMessage()] == [
        logging.ERROR
    ]


def test_entries_read_beside_a_missing_hash_keep_their_own_definitions(
    scheduler, celery_app, redis_client, clock, broker
):
    add_entry(celery_app, "a", args=[1])
    add_entry(celery_app, "b", args=[2])
    redis_client.hdel("redbeat:b", "meta")  # never run, as celery-redbeat may leave it
    redis_client.zadd(SCHEDULE_KEY, {"redbeat:ghost": to_timestamp(clock()) - 1})  # read first
    clock.advance(seconds=60)

    scheduler.tick()

    assert sorted(m.payload[0] for m in broker.messages("q")) == [[1], [2]]
    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:ghost") is None


def test_a_disabled_entry_is_not_read_by_a_tick(scheduler, celery_app, clock, round_trips):
    add_entry(celery_app, "off", seconds=1, enabled=False)
    clock.advance(hours=1)
    round_trips.round_trips = 0

    scheduler.tick()

    assert round_trips.round_trips == 1  # only the due-window read: the entry is never loaded
    assert scheduler.schedule == {}


def test_due_entries_are_read_in_one_round_trip_whatever_their_number(
    scheduler, celery_app, clock, round_trips, broker
):
    for n in range(50):
        add_entry(celery_app, f"task-{n}")
    clock.advance(seconds=60)
    round_trips.round_trips = 0

    scheduler.tick()

    # due window + the 50 hashes + the run-state writes: three, not 50
    assert round_trips.round_trips == 3
    assert len(broker.messages("q")) == 50


def test_an_idle_tick_is_one_round_trip(scheduler, celery_app, round_trips):
    for n in range(20):
        add_entry(celery_app, f"task-{n}")
    round_trips.round_trips = 0

    scheduler.tick()

    assert round_trips.round_trips == 1


def test_a_tick_sends_at_most_the_batch_and_asks_to_be_called_again(celery_app, clock, broker):
    celery_app.conf.update(redbeat_lock_key=None, redbeat_max_due_per_tick=2)
    beat = RedBeatScheduler(app=celery_app)
    for n in range(5):
        add_entry(celery_app, f"task-{n}")
    clock.advance(seconds=60)

    sleeps = [beat.tick() for _ in range(3)]

    assert sleeps[:2] == [0, 0]
    assert len(broker.messages("q")) == 5


def test_sleep_is_the_time_until_the_next_due_entry(scheduler, celery_app, clock):
    add_entry(celery_app, "soon", seconds=30)
    add_entry(celery_app, "late", seconds=200)

    assert scheduler.tick() == pytest.approx(30, abs=0.01)


def test_sleep_never_exceeds_max_interval(celery_app):
    celery_app.conf.redbeat_lock_key = None
    beat = RedBeatScheduler(app=celery_app, max_interval=7)

    assert beat.tick() == 7


def test_an_entry_read_early_is_put_back_at_its_right_time(
    scheduler, celery_app, redis_client, clock
):
    entry = add_entry(celery_app, "add", seconds=60)
    redis_client.zadd(SCHEDULE_KEY, {entry.key: to_timestamp(clock())})  # stale, too early

    scheduler.tick()

    assert redis_client.zscore(SCHEDULE_KEY, entry.key) == to_timestamp(clock()) + 60


def test_a_failed_send_is_logged_and_does_not_stop_the_others(
    scheduler, celery_app, clock, broker, caplog
):
    add_entry(celery_app, "bad", options={"queue": "q", "serializer": "no-such"})
    add_entry(celery_app, "good")
    clock.advance(seconds=60)

    with caplog.at_level(logging.ERROR, logger="celery.beat"):
        scheduler.tick()

    assert len(broker.messages("q")) == 1
    assert any("bad" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


# ---- statics from beat_schedule ------------------------------------------------------------


def static(seconds=60, **extra):
    return {"task": "tests.add", "schedule": timedelta(seconds=seconds), **extra}


def test_setup_schedule_installs_beat_schedule(celery_app, redis_client):
    celery_app.conf.update(
        redbeat_lock_key=None,
        beat_schedule={"a": static(args=(1, 2)), "b": static(30, options={"queue": "q"})},
    )

    RedBeatScheduler(app=celery_app)

    assert redis_client.smembers("redbeat::statics") == {"a", "b"}
    b = RedBeatSchedulerEntry.from_key("redbeat:b", app=celery_app)
    assert (b.options, b.schedule) == ({"queue": "q"}, every(30))
    assert RedBeatSchedulerEntry.from_key("redbeat:a", app=celery_app).args == [1, 2]


def test_statics_removed_from_beat_schedule_are_pruned(celery_app, redis_client):
    celery_app.conf.update(redbeat_lock_key=None, beat_schedule={"a": static(), "b": static()})
    RedBeatScheduler(app=celery_app)
    add_entry(celery_app, "dynamic")  # not a static: must survive

    redis_client.lpush("redbeat::history:b", '{"outcome": "sent"}')
    redis_client.set("redbeat::running:b", "task-id", ex=60)
    celery_app.conf.beat_schedule = {"a": static()}
    RedBeatScheduler(app=celery_app)

    assert redis_client.exists("redbeat:b") == 0
    assert redis_client.zscore(SCHEDULE_KEY, "redbeat:b") is None
    assert redis_client.exists("redbeat::history:b", "redbeat::running:b") == 0
    assert redis_client.smembers("redbeat::statics") == {"a"}
    assert redis_client.exists("redbeat:a", "redbeat:dynamic") == 2


@pytest.mark.parametrize("statics", [{}, {"a": static()}])
def test_restarting_with_the_same_statics_leaves_their_set_alone(
    celery_app, redis_client, statics
):
    celery_app.conf.update(redbeat_lock_key=None, beat_schedule=statics)
    RedBeatScheduler(app=celery_app)
    before = set_writes(redis_client)

    RedBeatScheduler(app=celery_app)

    assert set_writes(redis_client) == before
    assert redis_client.smembers("redbeat::statics") == set(statics)


def set_writes(client) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("del", "sadd"))


def test_restarting_beat_keeps_the_run_state_of_statics(celery_app, clock):
    celery_app.conf.update(redbeat_lock_key=None, beat_schedule={"a": static(10)})
    beat = RedBeatScheduler(app=celery_app)
    clock.advance(seconds=10)
    beat.tick()

    RedBeatScheduler(app=celery_app)  # a restart installs the statics again

    assert RedBeatSchedulerEntry.from_key("redbeat:a", app=celery_app).total_run_count == 1


def test_statics_installed_again_keep_the_slot_an_overdue_entry_is_due_for(
    celery_app, redis_client, clock
):
    # a standby taking the lock installs the statics while their runs are overdue: the score
    # must stay the slot, or the run goes out under a later slot and one reads as lost
    celery_app.conf.update(redbeat_lock_key=None, beat_schedule={"a": static(10)})
    beat = RedBeatScheduler(app=celery_app)
    clock.advance(seconds=10)
    beat.tick()
    slot = redis_client.zscore("redbeat::schedule", "redbeat:a")
    clock.advance(seconds=15)

    RedBeatScheduler(app=celery_app)

    assert redis_client.zscore("redbeat::schedule", "redbeat:a") == slot


def test_a_bad_static_is_logged_and_the_others_installed(celery_app, redis_client, caplog):
    celery_app.conf.update(
        redbeat_lock_key=None,
        beat_schedule={"good": static(), ":lock": static(), "odd": {"task": "x", "schedule": []}},
    )

    with caplog.at_level(logging.ERROR, logger="celery.beat"):
        RedBeatScheduler(app=celery_app)

    assert redis_client.exists("redbeat:good") == 1
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "':lock'" in logged and "'odd'" in logged


def test_update_from_dict_adds_entries(scheduler, celery_app):
    scheduler.update_from_dict({"x": static(5, kwargs={"k": 1})})

    assert RedBeatSchedulerEntry.from_key("redbeat:x", app=celery_app).kwargs == {"k": 1}


# ---- the lock ------------------------------------------------------------------------------


def test_statics_wait_for_the_lock(celery_app, redis_client, redis_url, clock, broker):
    other = BeatLock(redis_client, "redbeat::lock", 30)
    assert other.acquire()
    celery_app.conf.beat_schedule = {"a": static(10, options={"queue": "q"})}

    beat = RedBeatScheduler(app=celery_app)
    clock.advance(seconds=10)
    assert beat.tick() == pytest.approx(1)  # standby: its light tick, every second
    assert redis_client.exists("redbeat:a") == 0
    assert broker.messages("q") == []

    other.release()
    beat.tick()
    assert redis_client.exists("redbeat:a") == 1
    beat.close()


def test_close_releases_the_lock(celery_app, redis_client):
    beat = RedBeatScheduler(app=celery_app)
    beat.tick()
    assert redis_client.get("redbeat::lock") == beat.lock.token

    beat.close()

    assert redis_client.exists("redbeat::lock") == 0


def test_info_never_shows_the_redis_password(celery_app):
    celery_app.conf.redbeat_redis_url = "redis://user:s3cret@localhost:6379/0"
    celery_app.redbeat_conf = None

    info = RedBeatScheduler(app=celery_app, lazy=True).info

    assert "s3cret" not in info
    assert "redbeat::lock" in info


def test_the_task_queue_is_declared_on_the_first_send_and_again_after_a_reconnect(
    scheduler, celery_app, clock, broker
):
    add_entry(celery_app, "add", seconds=60)
    queue = celery_app.amqp.queues["q"]
    declared = scheduler.producer.connection.declared_entities

    clock.advance(seconds=60)
    scheduler.tick()
    assert hash(queue) in declared

    declared.clear()  # what kombu does when the connection is re-established
    clock.advance(seconds=60)
    scheduler.tick()

    assert hash(queue) in declared
    assert len(broker.messages("q")) == 2
