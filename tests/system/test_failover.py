"""Several real beat processes: one sends, the others send what it leaves overdue when it dies
or freezes, and take the lock over."""

from __future__ import annotations

import signal
from datetime import datetime

import pytest

from django_redbeat.beat.headers import SCHEDULED_AT_HEADER
from support.processes import BeatProcess, lock_holder_pid, sent_messages, wait_for
from support.send_watch import SendWatch

pytestmark = pytest.mark.system

#: The lock timeout of the hand-over test: short, so that a beat left holding it does not
#: keep the next test waiting.
LOCK_TIMEOUT = 3.0
#: The latest a run may go out after its scheduled time, whatever happens to the holder: the
#: standbys' grace (1.5 s), one light tick (1 s), and slack for a loaded machine.
LATEST = 5.0
#: The entry of tests/system/beat_project.py runs every second.
INTERVAL = 1.0


def start_beats(tmp_path, redis_url, broker_url, count, first=0, **env):
    return [
        BeatProcess(tmp_path / f"beat-{n}", redis_url, broker_url, **env)
        for n in range(first, first + count)
    ]


def slots(broker):
    return [
        datetime.fromisoformat(m["headers"][SCHEDULED_AT_HEADER]).timestamp()
        for m in sent_messages(broker)
    ]


def living_holder(redis_client, beats, timeout):
    alive = {beat.pid: beat for beat in beats}
    pid = wait_for(
        lambda: lock_holder_pid(redis_client) in alive and lock_holder_pid(redis_client),
        timeout, "a living lock holder",
    )  # fmt: skip
    return alive[pid]


def assert_each_run_once_and_on_time(watch):
    assert len(watch.slots()) == len(set(watch.slots())), "a slot was sent twice"
    assert not watch.lost_slots(INTERVAL), "a run went missing"
    assert watch.worst_lateness() <= LATEST, f"a run went out {watch.worst_lateness():.2f} s late"


def test_sigkilled_holders_are_replaced_within_seconds_without_a_slot_sent_twice(
    tmp_path, redis_server, redis_client, broker_url, broker
):
    beats = start_beats(tmp_path, redis_server.url, broker_url, 3)  # default lock settings
    kills = 0
    try:
        with SendWatch(broker) as watch:
            wait_for(lambda: len(watch) >= 3, 30, "the first sends")
            while kills < 3:
                # after a kill the lock lives out its 30 s TTL: the standbys send meanwhile
                holder = living_holder(redis_client, beats, 45)
                sent = len(watch)
                wait_for(lambda n=sent: len(watch) >= n + 2, 30, "sends under this holder")
                holder.signal(signal.SIGKILL)
                holder.stop()
                kills += 1
                beats.remove(holder)
                beats += start_beats(tmp_path, redis_server.url, broker_url, 1, first=2 + kills)
            sent = len(watch)
            wait_for(lambda: len(watch) >= sent + 3, 30, "sends after the last kill")
    finally:
        for beat in beats:
            beat.stop()

    assert kills == 3
    assert_each_run_once_and_on_time(watch)
    assert sorted(watch.slots()) == sorted(slots(broker))  # the watch saw every message


def test_a_frozen_holder_that_wakes_does_not_send_what_a_standby_sent(
    tmp_path, redis_server, redis_client, broker_url, broker
):
    beats = start_beats(tmp_path, redis_server.url, broker_url, 2)
    try:
        with SendWatch(broker) as watch:
            holder = living_holder(redis_client, beats, 30)
            [standby] = [beat for beat in beats if beat is not holder]
            wait_for(lambda: len(watch) >= 2, 30, "the first sends")

            holder.signal(signal.SIGSTOP)  # frozen: it keeps the lock, and sends nothing
            frozen_at = len(watch)
            wait_for(lambda: len(watch) >= frozen_at + 3, 20, "sends while it is frozen")
            holder.signal(signal.SIGCONT)  # it wakes within the lock's TTL, still holding it
            woke_at = len(watch)
            wait_for(lambda: len(watch) >= woke_at + 4, 20, "sends after it woke")
            assert lock_holder_pid(redis_client) == holder.pid
    finally:
        for beat in beats:
            beat.signal(signal.SIGCONT)
            beat.stop()

    assert_each_run_once_and_on_time(watch)
    assert "left overdue" in standby.log()  # the standby sent while the holder was frozen


def test_sigterm_hands_over_at_once(tmp_path, redis_server, redis_client, broker_url, broker):
    first, second = start_beats(
        tmp_path, redis_server.url, broker_url, 2, BEAT_PROJECT_LOCK_TIMEOUT=str(LOCK_TIMEOUT)
    )
    try:
        holder_pid = wait_for(lambda: lock_holder_pid(redis_client), 30, "a lock holder")
        holder, standby = (first, second) if first.pid == holder_pid else (second, first)
        wait_for(lambda: broker.llen("celery") >= 2, 30, "the first sends")

        holder.signal(signal.SIGTERM)
        assert holder.process.wait(30) == 0
        wait_for(lambda: lock_holder_pid(redis_client) == standby.pid, 5, "the standby")
        sent_before = broker.llen("celery")
        wait_for(lambda: broker.llen("celery") > sent_before, 5, "a send by the standby")
    finally:
        first.stop()
        second.stop()

    sent = slots(broker)
    assert len(sent) == len(set(sent))


def test_beat_carries_on_after_redis_restarts(tmp_path, broker_url, broker):
    from support.redis_server import RedisServer

    schedule_redis = RedisServer(tmp_path / "schedule-redis")
    schedule_redis.start()
    [beat] = start_beats(
        tmp_path, schedule_redis.url, broker_url, 1, BEAT_PROJECT_LOCK_TIMEOUT=str(LOCK_TIMEOUT)
    )
    try:
        wait_for(lambda: broker.llen("celery") >= 2, 30, "sends before the restart")
        schedule_redis.restart()  # an empty server: statics and lock are gone
        restarted_at = broker.llen("celery")
        wait_for(lambda: broker.llen("celery") >= restarted_at + 2, 30, "sends after it")
        assert beat.process.poll() is None
    finally:
        beat.stop()
        schedule_redis.stop()
