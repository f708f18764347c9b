"""The run history beat writes in the claim: a record per slot, capped, at no extra round trip."""

from __future__ import annotations

import json
import os
import socket
from datetime import timedelta

import pytest
from celery.schedules import schedule

from django_redbeat.beat import run_history
from django_redbeat.decoder import dumps, to_timestamp
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry

HISTORY = "redbeat::history:job"


def add_entry(app, name="job", seconds=60, **options) -> RedBeatSchedulerEntry:
    options.setdefault("queue", "q")
    entry = RedBeatSchedulerEntry(
        name, "tests.add", schedule(timedelta(seconds=seconds)), options=options, app=app
    )
    return entry.save()


@pytest.fixture
def scheduler(celery_app):
    celery_app.conf.redbeat_lock_key = None
    beat = RedBeatScheduler(app=celery_app)
    yield beat
    beat.close()


def records(redis_client, key=HISTORY) -> list[dict]:
    return [json.loads(raw) for raw in redis_client.lrange(key, 0, -1)]


def test_a_sent_run_is_recorded_with_its_slot_task_id_and_beat(
    scheduler, celery_app, clock, broker, redis_client
):
    add_entry(celery_app)
    slot = to_timestamp(clock.advance(seconds=60))
    before = float(redis_client.time()[0])

    scheduler.tick()

    [message] = broker.messages("q")
    [record] = records(redis_client)
    assert record["scheduled_at"] == slot
    assert record["task_id"] == message.headers["id"]
    assert record["beat"] == f"{socket.gethostname()}:{os.getpid()}"
    assert record["outcome"] == "sent"
    assert before <= record["sent_at"] < before + 5
    # the test's clock is behind Redis's, which the lateness is measured on
    assert record["lateness"] == pytest.approx(record["sent_at"] - slot)


def test_the_history_keeps_the_newest_runs_up_to_its_length(
    celery_app, clock, broker, redis_client
):
    celery_app.conf.update(redbeat_lock_key=None, redbeat_history_length=3)
    beat = RedBeatScheduler(app=celery_app)
    add_entry(celery_app)
    slots = []
    for _ in range(5):
        slots.append(to_timestamp(clock.advance(seconds=60)))
        beat.tick()
    beat.close()

    assert len(broker.messages("q")) == 5
    assert [record["scheduled_at"] for record in records(redis_client)] == slots[:1:-1]


def test_a_history_length_of_0_keeps_none(celery_app, clock, broker, redis_client):
    celery_app.conf.update(redbeat_lock_key=None, redbeat_history_length=0)
    beat = RedBeatScheduler(app=celery_app)
    add_entry(celery_app)
    clock.advance(seconds=60)
    beat.tick()
    beat.close()

    assert len(broker.messages("q")) == 1
    assert redis_client.exists(HISTORY) == 0


def test_the_entry_hash_is_written_as_before_history_or_not(
    scheduler, celery_app, clock, broker, redis_client
):
    entry = add_entry(celery_app)
    definition = redis_client.hget(entry.key, "definition")
    now = clock.advance(seconds=60)

    scheduler.tick()

    assert redis_client.hgetall(entry.key) == {
        "definition": definition,
        "meta": dumps({"last_run_at": now, "total_run_count": 1}),
    }


def test_history_costs_no_round_trip(scheduler, celery_app, clock, round_trips, broker):
    for n in range(10):
        add_entry(celery_app, f"job-{n}")
    clock.advance(seconds=60)
    round_trips.round_trips = 0

    scheduler.tick()

    assert round_trips.round_trips == 3  # due window, the hashes, the claim
    assert round_trips.client.llen("redbeat::history:job-3") == 1


def test_a_send_that_fails_leaves_no_record_and_a_missed_one_says_why(
    scheduler, celery_app, clock, broker, redis_client
):
    # a catch-up window past the retry window: the failed sends, not the window, give it up
    entry = add_entry(celery_app, serializer="no-such-serializer", catch_up_window=3600)
    slot = to_timestamp(clock.advance(seconds=60))

    scheduler.tick()  # fails, given back for the next tick
    assert records(redis_client) == []

    clock.advance(seconds=scheduler.send_retry_window)
    scheduler.tick()  # fails again, now too late: missed

    [record] = records(redis_client)
    assert (record["scheduled_at"], record["outcome"]) == (slot, "missed")
    assert record["reason"] == "send_failed"
    [history] = run_history.read(redis_client, "redbeat:", ["job"])
    assert history.counters[run_history.MISSED_FIELD] == 1
    assert history.last_outcome == "missed"
    assert redis_client.hget(entry.key, run_history.MISSED_FIELD) == "1"
