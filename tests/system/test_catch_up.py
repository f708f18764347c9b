"""Catch-up with real beat processes: beat stopped for three periods of an entry, then started
again, under each catch-up mode: the exact slots sent and the exact missed count."""

from __future__ import annotations

import signal
from datetime import datetime, timezone
from itertools import pairwise

import pytest
from celery import Celery

from django_redbeat.beat.headers import SCHEDULED_AT_HEADER
from django_redbeat.beat.run_history import MISSED_FIELD
from django_redbeat.schedulers import RedBeatSchedulerEntry
from django_redbeat.schedules import rrule
from support.processes import BeatProcess, sent_messages, wait_for

pytestmark = pytest.mark.system

PERIOD = 3  # seconds: the entry's rrule
QUEUE = "catch-up"


def redis_now(redis_client) -> float:
    seconds, microseconds = redis_client.time()
    return seconds + microseconds / 1_000_000


def slots(broker) -> list[int]:
    """The scheduled times of the runs sent, oldest first."""
    return sorted(
        int(datetime.fromisoformat(message["headers"][SCHEDULED_AT_HEADER]).timestamp())
        for message in sent_messages(broker, QUEUE)
    )


@pytest.fixture
def writer(redis_server):
    app = Celery("writer", set_as_current=False)
    app.conf.update(broker_url="memory://", redbeat_redis_url=redis_server.url)
    yield app
    app.close()


@pytest.mark.parametrize("mode", ["latest", "all", "none"])
def test_a_beat_back_after_three_periods_catches_up_by_its_mode(
    mode, tmp_path, writer, redis_server, redis_client, broker_url, broker
):
    # slots on multiples of 3 s, from a recent start (an rrule walks from its start)
    start = datetime.fromtimestamp(int(redis_now(redis_client)) // PERIOD * PERIOD, timezone.utc)
    entry = RedBeatSchedulerEntry(
        "catch", "beat_project.say", rrule("SECONDLY", interval=PERIOD, dtstart=start),
        args=["catch"], options={"queue": QUEUE, "catch_up": mode}, app=writer,
    ).save()  # fmt: skip

    first = BeatProcess(tmp_path / "first", redis_server.url, broker_url)
    try:
        wait_for(lambda: len(slots(broker)) >= 2, 20, "two runs before the stop")
    finally:
        first.signal(signal.SIGTERM)  # a clean stop: it sends nothing after it exits
        first.process.wait(30)
        first.stop()
    before = slots(broker)
    last = max(before)
    # three slots pass while no beat runs: last + 3, + 6, + 9
    wait_for(lambda: redis_now(redis_client) >= last + 3 * PERIOD + 0.5, 30, "three periods")

    restarted_at = redis_now(redis_client)
    second = BeatProcess(tmp_path / "second", redis_server.url, broker_url)
    try:
        wait_for(
            lambda: len(slots(broker)) >= len(before) + 2 and max(slots(broker)) > restarted_at,
            30, "runs after the restart",
        )  # fmt: skip
    finally:
        second.stop()

    sent = slots(broker)
    after = [slot for slot in sent if slot > last]
    missed = int(redis_client.hget(entry.key, MISSED_FIELD) or 0)
    assert len(sent) == len(set(sent)) == len(before) + len(after)
    assert all(later - earlier == PERIOD for earlier, later in pairwise(after[1:]))
    if mode == "latest":  # the newest passed slot once, then its calendar
        assert last + 3 * PERIOD <= after[0] <= restarted_at + PERIOD
        assert after[1] == after[0] + PERIOD
        assert missed == (after[0] - last) // PERIOD - 1
    elif mode == "all":  # every passed slot, each with its own time
        assert after[:3] == [last + PERIOD, last + 2 * PERIOD, last + 3 * PERIOD]
        assert after == list(range(last + PERIOD, after[-1] + 1, PERIOD))
        assert missed == 0
    else:  # nothing passed is sent: the next future slot
        assert after[0] > restarted_at
        assert missed == (after[0] - last) // PERIOD - 1 >= 3
