"""Catch-up: a beat that comes back after three periods, under each mode and window; intervals;
a re-enabled entry; what is counted and recorded as missed. Real Redis, the test's clock for
beat (Redis's own clock is months ahead of it, so no slot is refused as early)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from celery.schedules import crontab, schedule

from django_redbeat.beat import catch_up
from django_redbeat.beat.headers import SCHEDULED_AT_HEADER
from django_redbeat.beat.run_history import MISSED_FIELD
from django_redbeat.decoder import to_timestamp
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from django_redbeat.schedules import oneoff

SCHEDULE = "redbeat::schedule"
HISTORY = "redbeat::history:job"


@pytest.fixture
def beat(celery_app):
    celery_app.conf.redbeat_lock_key = None
    scheduler = RedBeatScheduler(app=celery_app)
    yield scheduler
    scheduler.close()


def at(clock, minutes, seconds=0):
    """A moment of the test's day: 12:00 plus minutes and seconds."""
    start = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
    assert clock() >= start
    return start + timedelta(minutes=minutes, seconds=seconds)


def add_job(app, clock, every=None, **policy):
    """An entry run last at 12:00, every minute by a crontab unless ``every`` says otherwise."""
    entry = RedBeatSchedulerEntry(
        "job", "tests.add", every or crontab(), options={"queue": "q", **policy},
        last_run_at=at(clock, 0), app=app,
    )  # fmt: skip
    return entry.save()


def sent(broker):
    return [
        datetime.fromisoformat(message.headers[SCHEDULED_AT_HEADER])
        for message in broker.messages("q")
    ]


def missed(redis_client, key="redbeat:job"):
    return int(redis_client.hget(key, MISSED_FIELD) or 0)


def missed_records(redis_client):
    records = [json.loads(raw) for raw in redis_client.lrange(HISTORY, 0, -1)]
    return sorted(
        (r["scheduled_at"], r["reason"]) for r in records if r["outcome"] == "missed"
    )  # fmt: skip


def back_after_three_periods(clock):
    """Beat was away from 12:00:30 to 12:03:30: the 12:01, 12:02 and 12:03 slots passed."""
    clock.current = at(clock, 3, 30)


def test_latest_sends_the_newest_slot_inside_the_window_once(
    beat, celery_app, clock, broker, redis_client
):
    entry = add_job(celery_app, clock, catch_up_window=600)
    back_after_three_periods(clock)
    beat.tick()
    beat.tick()

    assert sent(broker) == [at(clock, 3)]
    assert missed(redis_client) == 2
    assert missed_records(redis_client) == [
        (to_timestamp(at(clock, 1)), "superseded"),
        (to_timestamp(at(clock, 2)), "superseded"),
    ]
    assert redis_client.zscore(SCHEDULE, entry.key) == to_timestamp(at(clock, 4))


def test_the_default_window_is_one_period_but_at_least_a_minute(
    beat, celery_app, clock, broker, redis_client
):
    add_job(celery_app, clock)  # latest, every minute: a window of 60 s
    back_after_three_periods(clock)
    beat.tick()

    assert sent(broker) == [at(clock, 3)]  # 30 s late: inside
    assert missed_records(redis_client) == [
        (to_timestamp(at(clock, 1)), "window"),
        (to_timestamp(at(clock, 2)), "window"),
    ]


def test_all_sends_every_slot_inside_the_window_each_with_its_own_time(
    beat, celery_app, clock, broker, redis_client
):
    entry = add_job(celery_app, clock, catch_up="all", catch_up_window=600)
    back_after_three_periods(clock)
    for _ in range(4):
        beat.tick()

    assert sent(broker) == [at(clock, 1), at(clock, 2), at(clock, 3)]
    assert missed(redis_client) == 0
    assert redis_client.zscore(SCHEDULE, entry.key) == to_timestamp(at(clock, 4))
    assert RedBeatSchedulerEntry.from_key(entry.key, app=celery_app).total_run_count == 3


def test_all_is_bounded_by_its_limit_and_keeps_the_newest(
    beat, celery_app, clock, broker, redis_client
):
    add_job(celery_app, clock, catch_up="all", catch_up_window=600, catch_up_limit=2)
    back_after_three_periods(clock)
    for _ in range(3):
        beat.tick()

    assert sent(broker) == [at(clock, 2), at(clock, 3)]
    assert missed_records(redis_client) == [(to_timestamp(at(clock, 1)), "limit")]


def test_none_sends_nothing_and_waits_for_the_next_future_slot(
    beat, celery_app, clock, broker, redis_client
):
    entry = add_job(celery_app, clock, catch_up="none", catch_up_window=600)
    back_after_three_periods(clock)
    beat.tick()

    assert sent(broker) == []
    assert missed(redis_client) == 3
    assert redis_client.zscore(SCHEDULE, entry.key) == to_timestamp(at(clock, 4))
    assert RedBeatSchedulerEntry.from_key(entry.key, app=celery_app).total_run_count == 0

    clock.current = at(clock, 4, 0.5)  # the next slot, on time: sent
    beat.tick()
    assert sent(broker) == [at(clock, 4)]


def test_none_still_sends_a_slot_that_is_merely_a_little_late(
    beat, celery_app, clock, broker, redis_client
):
    add_job(celery_app, clock, catch_up="none")
    clock.current = at(clock, 1, 20)  # one slot passed, 20 s ago: no later slot has come
    beat.tick()

    assert sent(broker) == [at(clock, 1)]
    assert missed(redis_client) == 0


def test_an_interval_sends_its_slot_inside_the_window_and_misses_it_past_it(
    beat, celery_app, clock, broker, redis_client
):
    entry = add_job(celery_app, clock, every=schedule(timedelta(seconds=60)))
    clock.current = at(clock, 1, 50)  # due 12:01, 50 s ago: inside one period
    beat.tick()
    assert sent(broker) == [at(clock, 1)]

    clock.current = at(clock, 5)  # due 12:02:50, 130 s ago: past the window
    beat.tick()
    assert sent(broker) == []
    assert missed(redis_client) == 1
    assert redis_client.zscore(SCHEDULE, entry.key) == to_timestamp(at(clock, 6))


@pytest.mark.parametrize("mode", ["latest", "all", "none"])
def test_an_entry_enabled_again_after_ten_periods_sends_no_burst(
    beat, celery_app, clock, broker, redis_client, mode
):
    entry = add_job(celery_app, clock, catch_up=mode)
    entry.enabled = False
    entry.save()
    clock.current = at(clock, 10, 30)
    beat.tick()
    entry = RedBeatSchedulerEntry.from_key(entry.key, app=celery_app)
    entry.enabled = True
    entry.save()
    for _ in range(3):
        beat.tick()

    runs = sent(broker)  # read once: reading takes the messages
    assert len(runs) == (0 if mode == "none" else 1)
    assert len(runs) + missed(redis_client) == 10


def test_the_missed_count_goes_on_past_what_is_counted_one_by_one(celery_app, clock, monkeypatch):
    monkeypatch.setattr(catch_up, "MAX_COUNTED", 50)
    entry = add_job(celery_app, clock, catch_up_window=600)
    clock.current = at(clock, 200, 30)  # 200 slots passed
    plan = catch_up.plan(entry, at(clock, 1), clock())

    assert plan.send == at(clock, 200)
    assert len(plan.missed) + plan.also_missed == 199


def test_a_slot_on_time_needs_no_plan(celery_app, clock):
    entry = add_job(celery_app, clock)
    clock.current = at(clock, 1, 0.5)
    assert catch_up.plan(entry, at(clock, 1), clock()) is None
    clock.current = at(clock, 1, 40)
    assert catch_up.plan(entry, at(clock, 1), clock()) is None


def test_a_one_off_found_a_day_late_is_sent(beat, celery_app, clock, broker, redis_client):
    RedBeatSchedulerEntry(
        "job", "tests.add", oneoff(at(clock, 5)), options={"queue": "q"}, app=celery_app
    ).save()
    clock.current = at(clock, 24 * 60)
    beat.tick()

    assert sent(broker) == [at(clock, 5)]  # a one-off has no window unless it is given one
    assert missed(redis_client) == 0


def test_a_score_rounded_down_a_second_is_the_same_slot(celery_app, clock):
    entry = add_job(celery_app, clock, catch_up_window=600)
    clock.current = at(clock, 3, 30)
    plan = catch_up.plan(entry, at(clock, 1) - timedelta(seconds=1), clock())

    assert plan.send == at(clock, 3)
    assert [slot for slot, _ in plan.missed] == [at(clock, 1), at(clock, 2)]


def test_a_plan_that_fails_sends_the_slot_as_it_is(
    beat, celery_app, clock, broker, monkeypatch, caplog
):
    def broken(*args):
        raise ValueError("a calendar that cannot be walked")

    monkeypatch.setattr(catch_up, "plan", broken)
    add_job(celery_app, clock)
    back_after_three_periods(clock)
    beat.tick()

    assert len(sent(broker)) == 1  # beat goes on: the entry is sent for its slot
    assert "no catch-up could be planned" in caplog.text
