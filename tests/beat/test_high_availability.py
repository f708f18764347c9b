"""The lock, slot claims and send retries, in one process against the real Redis."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import pytest
from celery.schedules import schedule

from django_redbeat.beat.headers import SCHEDULED_AT_HEADER
from django_redbeat.beat.lock import BeatLock, LockKeeper
from django_redbeat.beat.run_policy import RunPolicy
from django_redbeat.beat.slot_claims import MISSED_FIELD
from django_redbeat.decoder import from_timestamp, to_timestamp
from django_redbeat.exceptions import ConfigurationError
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from django_redbeat.store.connection import retry_period
from django_redbeat.store.redbeat_config import RedBeatConfig
from support.redis_server import RedisServer

LOCK = "redbeat::lock"


def add_entry(app, name="add", seconds=60, last_run_at=None):
    every = schedule(timedelta(seconds=seconds))
    return RedBeatSchedulerEntry(
        name, "tests.add", every, options={"queue": "q"}, last_run_at=last_run_at, app=app
    ).save()


def sent_slots(broker):
    return [m.headers[SCHEDULED_AT_HEADER] for m in broker.messages("q")]


@pytest.fixture
def beats(celery_app):
    started = []

    def start(**kwargs):
        beat = RedBeatScheduler(app=celery_app, **kwargs)
        started.append(beat)
        return beat

    yield start
    for beat in started:
        beat.close()


def test_the_scheduled_time_travels_in_the_headers(beats, celery_app, clock, broker):
    add_entry(celery_app)
    clock.advance(seconds=60)

    beats().tick()

    [slot] = sent_slots(broker)
    assert datetime.fromisoformat(slot) == clock()  # the entry's due time, saved 60 s before


@pytest.fixture
def clock_at_redis_time(clock, redis_client):
    """The beats' clock set to Redis's: what is overdue there is overdue for them."""
    seconds, microseconds = redis_client.time()
    clock.current = from_timestamp(seconds + microseconds / 1_000_000)
    return clock


def test_only_the_holder_sends_what_is_due_on_its_time(
    beats, celery_app, clock_at_redis_time, broker
):
    first, second = beats(), beats()
    add_entry(celery_app, last_run_at=clock_at_redis_time() - timedelta(seconds=60))  # due now

    first.tick()
    second.tick()  # a light tick: nothing is overdue

    assert len(sent_slots(broker)) == 1
    assert first._held and not second._held


def test_two_beats_that_both_think_they_hold_the_lock_send_a_slot_once(
    beats, celery_app, redis_client, clock, broker, caplog
):
    old, new = beats(), beats()
    old.tick()  # old holds the lock
    redis_client.delete(LOCK)  # it expires while old is paused...
    new.tick()  # ...and new takes it
    add_entry(celery_app)
    clock.advance(seconds=60)

    with caplog.at_level(logging.WARNING, logger="celery.beat"):
        old.tick()  # old wakes up still believing it holds the lock
    new.tick()

    assert len(sent_slots(broker)) == 1
    assert not old._held and new._held
    assert "Lost lock" in caplog.text


def test_without_a_lock_two_beats_still_send_each_slot_once(celery_app, clock, broker):
    celery_app.conf.redbeat_lock_key = None
    first, second = RedBeatScheduler(app=celery_app), RedBeatScheduler(app=celery_app)
    add_entry(celery_app)
    clock.advance(seconds=60)
    # both read the window before either claims
    window_a, window_b = first._read_due_window(), second._read_due_window()

    first._run(window_a)
    second._run(window_b)

    assert len(sent_slots(broker)) == 1


def test_a_lost_lock_is_taken_again_later(
    beats, celery_app, redis_client, clock_at_redis_time, broker
):
    celery_app.conf.redbeat_standby_grace = 60  # the light tick stays out of the way
    beat = beats()
    beat.tick()
    other = BeatLock(redis_client, LOCK, 30)
    redis_client.delete(LOCK)
    other.acquire()
    assert not beat.keeper.renew_once()  # the renewal finds the lock gone

    add_entry(celery_app, last_run_at=clock_at_redis_time() - timedelta(seconds=60))  # due now
    beat.tick()
    assert sent_slots(broker) == [] and not beat._held

    other.release()
    beat.tick()  # the light tick finds the lock free: beat takes it and sends
    assert len(sent_slots(broker)) == 1 and beat._held


def test_statics_are_installed_again_after_the_lock_is_regained(beats, celery_app, redis_client):
    celery_app.conf.beat_schedule = {"s": {"task": "tests.add", "schedule": 30.0}}
    beat = beats()
    beat.tick()
    redis_client.flushall()  # Redis lost everything (a restart without persistence)

    assert not beat.keeper.renew_once()  # the keeper finds the lock gone
    beat.tick()  # this beat stands by...
    beat.tick()  # ...then takes the lock again

    assert redis_client.exists("redbeat:s") == 1


def test_the_keeper_renews_on_its_own_timer(redis_client):
    lock = BeatLock(redis_client, LOCK, 2)
    lock.acquire()
    keeper = LockKeeper(lock, interval=0.05).start()
    redis_client.pexpire(LOCK, 300)

    deadline = time.monotonic() + 5
    while redis_client.pttl(LOCK) < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)  # polling the real thread, with a deadline
    keeper.stop()

    assert redis_client.pttl(LOCK) > 1000


def test_the_keeper_lets_the_lock_go_when_the_beat_loop_stalls(redis_client):
    now = [0.0]
    lock = BeatLock(redis_client, LOCK, 30)
    lock.acquire()
    keeper = LockKeeper(lock, interval=10, clock=lambda: now[0])
    keeper.keep_alive(15)
    redis_client.pexpire(LOCK, 5000)

    now[0] = 16  # the loop promised to be back by 15
    keeper.renew_once()

    assert redis_client.pttl(LOCK) <= 5000


def test_a_renewal_period_not_shorter_than_the_ttl_is_refused(celery_app):
    celery_app.conf.update(redbeat_lock_timeout=10, redbeat_lock_renewal_interval=10)

    with pytest.raises(ConfigurationError, match="redbeat_lock_renewal_interval"):
        RedBeatConfig(celery_app)


def test_retries_never_outlast_half_the_lock(celery_app, caplog):
    celery_app.conf.update(redbeat_lock_timeout=10, redbeat_redis_options={"retry_period": 60})

    assert retry_period(RedBeatConfig(celery_app)) == 5
    assert "retry_period" in caplog.text


def test_retries_default_to_half_the_lock(celery_app):
    assert retry_period(RedBeatConfig(celery_app)) == 15


# ---- a broker that fails -------------------------------------------------------------------


@pytest.fixture
def broker_server(tmp_path, celery_app):
    server = RedisServer(tmp_path / "broker")
    server.start()
    celery_app.conf.update(
        broker_url=server.url,
        broker_connection_max_retries=1,
        broker_connection_timeout=0.5,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1},
    )
    yield server
    server.stop()


def queued(server):
    import redis

    return redis.Redis(port=server.port).lrange("q", 0, -1)


def test_a_failed_send_is_retried_for_the_same_slot(
    beats, celery_app, clock, broker_server, caplog
):
    entry = add_entry(celery_app)
    beat = beats()
    clock.advance(seconds=60)
    broker_server.stop()

    with caplog.at_level(logging.ERROR, logger="celery.beat"):
        assert beat.tick() <= 1  # come back soon for the slot
    stored = RedBeatSchedulerEntry.from_key(entry.key, app=celery_app)
    assert stored.total_run_count == 0  # the claim was given back

    broker_server.start()
    clock.advance(seconds=5)
    beat.tick()

    assert len(queued(broker_server)) == 1
    assert RedBeatSchedulerEntry.from_key(entry.key, app=celery_app).total_run_count == 1
    assert "Sending add failed" in caplog.text


def test_a_slot_that_cannot_be_sent_in_the_window_is_counted_missed(
    beats, celery_app, redis_client, clock, broker_server, caplog
):
    entry = add_entry(celery_app)
    # a catch-up window past the retry window: the failed sends, not the window, give it up
    entry.policy = RunPolicy(catch_up_window=3600)
    entry.save()
    beat = beats()
    broker_server.stop()
    clock.advance(seconds=60)
    beat.tick()

    clock.advance(seconds=beat.send_retry_window)
    with caplog.at_level(logging.ERROR, logger="celery.beat"):
        beat.tick()

    assert redis_client.hget(entry.key, MISSED_FIELD) == "1"
    assert "missed its run" in caplog.text
    assert redis_client.zscore("redbeat::schedule", entry.key) > to_timestamp(clock())


# ---- Redis itself goes away ----------------------------------------------------------------


def test_beat_survives_a_redis_restart(tmp_path, celery_app, clock, broker, caplog):
    server = RedisServer(tmp_path / "schedule")
    server.start()
    celery_app.conf.update(
        redbeat_redis_url=server.url,
        redbeat_redis_options={"retry_period": 0.2},
        beat_schedule={"s": {"task": "tests.add", "schedule": 10.0, "options": {"queue": "q"}}},
    )
    beat = RedBeatScheduler(app=celery_app)
    try:
        beat.tick()
        server.stop()
        clock.advance(seconds=10)
        with caplog.at_level(logging.ERROR, logger="celery.beat"):
            assert beat.tick() == beat.lock_renewal_interval  # no crash: it stands by
        assert "Redis unavailable" in caplog.text

        server.start()  # back, and empty: the lock and the statics are gone
        assert not beat.keeper.renew_once()
        beat.tick()  # stands by, the lock being lost
        beat.tick()  # takes it again and installs the statics anew
        clock.advance(seconds=10)
        beat.tick()
        assert len(broker.messages("q")) == 1
    finally:
        beat.close()
        server.stop()
