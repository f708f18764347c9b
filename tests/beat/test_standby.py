"""The standby's light tick and the claims' clock, against the real Redis: what is overdue is
judged on Redis's ``TIME``, never on a beat's own clock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from celery.schedules import schedule

from django_redbeat.beat.headers import SCHEDULED_AT_HEADER
from django_redbeat.beat.lock import BeatLock
from django_redbeat.beat.slot_claims import SlotClaims
from django_redbeat.decoder import from_timestamp
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry

SCHEDULE = "redbeat::schedule"
LOCK = "redbeat::lock"


def redis_now(client) -> float:
    seconds, microseconds = client.time()
    return seconds + microseconds / 1_000_000


@pytest.fixture
def claims(redis_client):
    return SlotClaims(redis_client, SCHEDULE, LOCK)


@pytest.fixture
def clock_at_redis_time(clock, redis_client):
    clock.current = from_timestamp(redis_now(redis_client))
    return clock


@pytest.fixture
def beats(celery_app):
    started = []

    def start():
        started.append(RedBeatScheduler(app=celery_app))
        return started[-1]

    yield start
    for beat in started:
        beat.close()


@pytest.fixture
def other_holder(redis_client):
    """Another beat holds the lock (and never sends): what a dead holder leaves behind."""
    lock = BeatLock(redis_client, LOCK, 30)
    assert lock.acquire()
    return lock


def add_entry(app, ran_ago: float, every: float = 10, name="job") -> RedBeatSchedulerEntry:
    """An entry that last ran ``ran_ago`` seconds ago by the app's clock."""
    last_run_at = app.now() - timedelta(seconds=ran_ago)
    return RedBeatSchedulerEntry(
        name, "tests.add", schedule(timedelta(seconds=every)), options={"queue": "q"},
        last_run_at=last_run_at, app=app,
    ).save()  # fmt: skip


def overdue_entry(app, redis_client, seconds, name="job") -> RedBeatSchedulerEntry:
    """An entry whose slot passed ``seconds`` ago unsent: what a holder that died leaves."""
    entry = add_entry(app, ran_ago=10 + seconds, name=name)  # saved, it is due now ...
    redis_client.zadd(
        SCHEDULE, {entry.key: int(redis_now(redis_client) - seconds)}
    )  # ... and then
    return entry


def sent_slots(broker):
    return [m.headers[SCHEDULED_AT_HEADER] for m in broker.messages("q")]


# ---- the scripts ---------------------------------------------------------------------------


def test_overdue_returns_only_slots_later_than_the_grace_on_redis_time(claims, redis_client):
    now = redis_now(redis_client)
    redis_client.zadd(
        SCHEDULE,
        {"late": int(now) - 10, "in-grace": now - 0.5, "future": now + 30, "finished": -1},
    )

    found = claims.overdue(grace=2, limit=10)

    assert list(found.slots) == ["late"]
    assert found.now == pytest.approx(now, abs=1)
    assert found.lock_token is None and not found.truncated


def test_overdue_is_bounded_and_says_so(claims, redis_client):
    now = int(redis_now(redis_client))
    redis_client.zadd(SCHEDULE, {f"e{n}": now - 100 + n for n in range(5)})

    found = claims.overdue(grace=1, limit=3)

    assert list(found.slots) == ["e0", "e1", "e2"]  # the most overdue first
    assert found.truncated


def test_overdue_reports_the_lock_holder(claims, other_holder):
    assert claims.overdue(grace=1, limit=1).lock_token == other_holder.token


# ---- claims judged on Redis's clock --------------------------------------------------------


def test_a_standby_claims_only_slots_overdue_by_its_grace(
    beats, celery_app, clock_at_redis_time, redis_client, other_holder, broker
):
    celery_app.conf.redbeat_standby_grace = 3
    overdue_entry(celery_app, redis_client, 0.5, name="in-grace")  # the holder's to send
    overdue = overdue_entry(celery_app, redis_client, 6, name="overdue")  # the holder is gone
    overdue_at = from_timestamp(redis_client.zscore(SCHEDULE, overdue.key))

    beats().tick()  # a standby: its light tick

    [slot] = sent_slots(broker)
    assert datetime.fromisoformat(slot) == overdue_at


def test_a_standby_claim_refuses_a_slot_not_yet_overdue_by_the_grace(
    beats, celery_app, clock_at_redis_time, redis_client
):
    entry = overdue_entry(celery_app, redis_client, 5)
    beat = beats()
    [due] = beat._read_due_window().due

    claimed = beat.claims.claim([beat._claim_for(due)], None, grace=60)

    assert claimed.won == []
    assert claimed.not_yet[0] == pytest.approx(55, abs=1.5)
    assert redis_client.zscore(SCHEDULE, entry.key) == due.slot  # untouched


def test_a_standby_loses_the_slot_to_the_holder_that_claimed_it_first(
    beats, celery_app, clock_at_redis_time, redis_client, broker
):
    holder, standby = beats(), beats()
    holder.tick()  # takes the lock
    overdue_entry(celery_app, redis_client, 5)
    window = holder._read_due_window()  # the holder reads the slot ...
    [read_by_standby] = standby._read_due_window().due  # ... and so does a standby

    holder._run(window)
    lost = standby.claims.claim([standby._claim_for(read_by_standby)], None, grace=1)

    assert lost.won == [] and lost.not_yet == []
    assert len(sent_slots(broker)) == 1


def test_a_frozen_holder_that_wakes_does_not_send_what_a_standby_sent(
    beats, celery_app, clock_at_redis_time, redis_client, broker
):
    holder, standby = beats(), beats()
    holder.tick()  # takes the lock
    overdue_entry(celery_app, redis_client, 5)
    window = holder._read_due_window()  # the holder read the slot, then froze

    standby.tick()  # its light tick sends the slot, overdue by more than the grace
    [slot] = sent_slots(broker)
    holder._run(window)  # the holder wakes, its window stale

    assert window.due, "the holder had read the slot"
    assert datetime.fromisoformat(slot) == from_timestamp(window.due[0].slot)
    assert sent_slots(broker) == []  # the holder did not send it again
    assert holder._held and not standby._held


def test_a_beat_whose_clock_runs_30_s_fast_does_not_send_early(
    beats, celery_app, redis_client, broker
):
    celery_app.now = lambda: datetime.now(timezone.utc) + timedelta(seconds=30)
    entry = add_entry(celery_app, ran_ago=20)  # due now by its clock: in 30 s on Redis's
    slot = redis_client.zscore(SCHEDULE, entry.key)
    beat = beats()

    sleep = beat.tick()

    assert sent_slots(broker) == []
    assert redis_client.zscore(SCHEDULE, entry.key) == slot  # the slot was not taken
    assert sleep == pytest.approx(slot - redis_now(redis_client), abs=1.5)  # back at its time


def test_the_light_tick_tells_when_the_lock_is_free(beats, celery_app, redis_client, other_holder):
    beat = beats()
    beat.tick()
    assert not beat.standby.lock_may_be_free

    other_holder.release()
    beat.tick()  # the light tick sees the lock free, and beat takes it

    assert redis_client.get(LOCK) == beat.lock.token


def test_standing_by_returns_at_a_handover(beats, other_holder):
    beat = beats()
    beat.tick()  # stands by
    releaser = threading.Timer(0.2, other_holder.release)
    releaser.start()

    beat.wait_for_release(30, threading.Event())  # returns on the handover, long before 30 s

    releaser.join()
    assert beat.standby.lock_may_be_free
