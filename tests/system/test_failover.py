"""Several real beat processes: one sends, the others take over when it dies."""

from __future__ import annotations

import signal
import time
from datetime import datetime

import pytest

from django_redbeat.beat.scheduler import SCHEDULED_AT_HEADER
from support.processes import BeatProcess, lock_holder_pid, sent_messages, wait_for

pytestmark = pytest.mark.system

LOCK_TIMEOUT = 3.0
#: The longest silence a SIGKILL may cause: the lock's TTL, a standby's retry period (a third
#: of the TTL), the one-second interval itself and a second of slack for a loaded machine.
FAILOVER_BOUND = LOCK_TIMEOUT + LOCK_TIMEOUT / 3 + 1 + 1


def start_beats(tmp_path, redis_url, broker_url, count, first=0):
    return [
        BeatProcess(tmp_path / f"beat-{n}", redis_url, broker_url,
                    BEAT_PROJECT_LOCK_TIMEOUT=str(LOCK_TIMEOUT))
        for n in range(first, first + count)
    ]  # fmt: skip


def slots(broker):
    return [
        datetime.fromisoformat(m["headers"][SCHEDULED_AT_HEADER]).timestamp()
        for m in sent_messages(broker)
    ]


def test_sigkilled_holders_fail_over_without_a_slot_sent_twice(
    tmp_path, redis_server, redis_client, broker_url, broker
):
    beats = start_beats(tmp_path, redis_server.url, broker_url, 3)
    kills = 0
    try:
        wait_for(lambda: broker.llen("celery") >= 3, 30, "the first sends")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            alive = {beat.pid for beat in beats}
            holder = wait_for(
                lambda alive=alive: (
                    lock_holder_pid(redis_client) in alive and lock_holder_pid(redis_client)
                ),
                30,
                "a living lock holder",
            )
            sent_before = broker.llen("celery")
            wait_for(lambda n=sent_before: broker.llen("celery") >= n + 5, 30, "five sends")
            victim = next(beat for beat in beats if beat.pid == holder)
            victim.signal(signal.SIGKILL)
            victim.stop()
            kills += 1
            beats.remove(victim)
            beats += start_beats(tmp_path, redis_server.url, broker_url, 1, first=2 + kills)
        sent_before = broker.llen("celery")
        wait_for(lambda: broker.llen("celery") >= sent_before + 3, 30, "sends after the last kill")
    finally:
        for beat in beats:
            beat.stop()

    sent = slots(broker)
    assert kills >= 3
    assert len(sent) == len(set(sent)), "a slot was sent twice"
    gaps = [later - earlier for earlier, later in zip(sent, sent[1:], strict=False)]
    assert max(gaps) <= FAILOVER_BOUND, f"a silence of {max(gaps)} s after a kill"


def test_sigterm_hands_over_at_once(tmp_path, redis_server, redis_client, broker_url, broker):
    first, second = start_beats(tmp_path, redis_server.url, broker_url, 2)
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
    [beat] = start_beats(tmp_path, schedule_redis.url, broker_url, 1)
    try:
        wait_for(lambda: broker.llen("celery") >= 2, 30, "sends before the restart")
        schedule_redis.restart()  # an empty server: statics and lock are gone
        restarted_at = broker.llen("celery")
        wait_for(lambda: broker.llen("celery") >= restarted_at + 2, 30, "sends after it")
        assert beat.process.poll() is None
    finally:
        beat.stop()
        schedule_redis.stop()
