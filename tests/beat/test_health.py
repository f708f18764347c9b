"""``/healthz`` on beat's metrics port: a holder that ticks, a standby with a live holder, and
the unhealthy cases (nobody holds the lock, the holder's ticks are late, Redis is away)."""

from __future__ import annotations

from django_redbeat.beat.health import TickWatch
from django_redbeat.beat.lock import BeatLock
from django_redbeat.schedulers import RedBeatScheduler
from tests.metrics_fixtures import healthz

LOCK = "redbeat::lock"


class Monotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_holder_that_ticks_is_healthy(metrics_beat):
    metrics_beat.tick()

    status, body = healthz(metrics_beat)

    assert (status, body["healthy"]) == (200, True)
    assert body["reason"].startswith("holds the lock; last tick")


def test_a_standby_is_healthy_while_another_beat_holds_the_lock(metrics_beat, redis_client):
    other = BeatLock(redis_client, LOCK, 30, token="otherhost:4242:abc")
    assert other.acquire()
    metrics_beat.tick()  # cannot take the lock: stands by

    status, body = healthz(metrics_beat)

    assert (status, body["healthy"]) == (200, True)
    assert body["reason"].startswith("standing by: otherhost (pid 4242) holds the lock, for ")


def test_nobody_holding_the_lock_is_unhealthy(metrics_beat, redis_client):
    other = BeatLock(redis_client, LOCK, 30)
    assert other.acquire()
    metrics_beat.tick()  # stands by
    other.release()  # the holder went away; this beat has not taken over yet

    status, body = healthz(metrics_beat)

    assert (status, body) == (503, {"healthy": False, "reason": f"no beat holds the lock {LOCK}"})


def test_a_holder_whose_ticks_are_late_is_unhealthy(metrics_beat):
    clock = Monotonic()
    metrics_beat.metrics.ticks = TickWatch(grace=30, clock=clock)
    sleep = metrics_beat.tick()  # nothing is due: it sleeps max_interval
    clock.now += sleep + 29
    assert healthz(metrics_beat)[0] == 200

    clock.now += 2

    status, body = healthz(metrics_beat)
    assert (status, body["healthy"]) == (503, False)
    assert body["reason"].startswith("holds the lock but its ticks are 1.0 s late")


def test_a_beat_that_cannot_read_redis_is_unhealthy(metrics_app, own_redis):
    beat = RedBeatScheduler(app=metrics_app)
    try:
        beat.tick()
        own_redis.stop()
        status, body = healthz(beat)
    finally:
        own_redis.start()
        beat.close()

    assert (status, body) == (503, {"healthy": False, "reason": "Redis cannot be read"})
