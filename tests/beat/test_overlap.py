"""Overlap policies enforced in the claim, on the running marker the worker hook clears."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery.schedules import schedule

from django_redbeat.beat import run_history, worker_hook
from django_redbeat.beat.headers import SCHEDULED_AT_HEADER
from django_redbeat.beat.run_policy import RunPolicy
from django_redbeat.decoder import from_timestamp, to_timestamp
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from support.processes import wait_for

RUNNING = "redbeat::running:job"
SCHEDULE = "redbeat::schedule"


@pytest.fixture
def scheduler(celery_app):
    celery_app.conf.redbeat_lock_key = None
    beat = RedBeatScheduler(app=celery_app)
    yield beat
    beat.close()


def add(app, overlap, timeout=600) -> RedBeatSchedulerEntry:
    policy = RunPolicy(overlap=overlap, overlap_timeout=timeout)
    entry = RedBeatSchedulerEntry(
        "job", "tests.add", schedule(timedelta(seconds=60)), options={"queue": "q"},
        policy=policy, app=app,
    )  # fmt: skip
    return entry.save()


def outcomes(redis_client) -> list[str]:
    return [
        json.loads(raw)["outcome"] for raw in redis_client.lrange("redbeat::history:job", 0, -1)
    ]


def finish(app, task_id) -> None:
    """What the worker hook writes when the run ends."""
    worker_hook.write_outcome(app, "job", task_id, "succeeded", {})


def test_a_sent_run_holds_the_running_marker_for_its_timeout(
    scheduler, celery_app, clock, broker, redis_client
):
    add(celery_app, "skip", timeout=90)
    clock.advance(seconds=60)
    scheduler.tick()

    [message] = broker.messages("q")
    assert redis_client.get(RUNNING) == message.headers["id"]
    assert 89_000 < redis_client.pttl(RUNNING) <= 90_000


def test_skip_does_not_send_while_the_previous_run_runs(
    scheduler, celery_app, clock, broker, redis_client
):
    entry = add(celery_app, "skip")
    clock.advance(seconds=60)
    scheduler.tick()
    [first] = broker.messages("q")

    second_slot = to_timestamp(clock.advance(seconds=60))
    scheduler.tick()  # the first still runs

    assert broker.messages("q") == []
    assert outcomes(redis_client) == ["skipped", "sent"]
    [history] = run_history.read(redis_client, "redbeat:", ["job"])
    assert history.records[0] == {
        "scheduled_at": second_slot, "outcome": "skipped", "reason": "overlap",
    }  # fmt: skip
    assert history.counters[run_history.SKIPPED_FIELD] == 1
    assert redis_client.zscore(SCHEDULE, entry.key) == second_slot + 60  # on to the next slot

    finish(celery_app, first.headers["id"])
    assert redis_client.exists(RUNNING) == 0
    clock.advance(seconds=60)
    scheduler.tick()
    assert len(broker.messages("q")) == 1


def test_buffer_one_sends_the_slot_once_the_run_finishes(
    scheduler, celery_app, clock, broker, redis_client
):
    entry = add(celery_app, "buffer_one")
    clock.advance(seconds=60)
    scheduler.tick()
    [first] = broker.messages("q")
    buffered_slot = to_timestamp(clock.advance(seconds=60))

    assert scheduler.tick() <= 1  # polls for the end of the run
    clock.advance(seconds=60)
    scheduler.tick()  # a third slot while one is buffered: still one pending

    assert broker.messages("q") == []
    assert outcomes(redis_client) == ["buffered", "sent"]
    parked = redis_client.zscore(SCHEDULE, entry.key)
    assert parked > float(redis_client.time()[0]) + 590  # until the marker would expire

    finish(celery_app, first.headers["id"])
    assert redis_client.zscore(SCHEDULE, entry.key) == buffered_slot
    scheduler.tick()

    [second] = broker.messages("q")
    assert second.headers[SCHEDULED_AT_HEADER] == from_timestamp(buffered_slot).isoformat()
    assert outcomes(redis_client) == ["sent", "buffered", "succeeded"]
    assert redis_client.get(RUNNING) == second.headers["id"]
    assert not redis_client.hexists(entry.key, "buffered")


def test_a_marker_left_by_a_dead_worker_expires(
    scheduler, celery_app, clock, broker, redis_client
):
    add(celery_app, "skip")
    clock.advance(seconds=60)
    scheduler.tick()
    broker.messages("q")
    redis_client.pexpire(RUNNING, 1)  # its timeout passes: the worker never reported
    wait_for(lambda: not redis_client.exists(RUNNING), 5, "the marker to expire")

    clock.advance(seconds=60)
    scheduler.tick()
    assert len(broker.messages("q")) == 1


def test_allow_sets_no_marker(scheduler, celery_app, clock, broker, redis_client):
    add(celery_app, "allow")
    for _ in range(2):
        clock.advance(seconds=60)
        scheduler.tick()
    assert len(broker.messages("q")) == 2
    assert redis_client.exists(RUNNING) == 0
