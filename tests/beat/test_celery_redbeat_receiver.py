"""celery-redbeat's beat_init receiver, once its module is imported (sentry-sdk imports it when
celery-redbeat is installed), must not take our beat's lock."""

from __future__ import annotations

import importlib
import logging
import threading

import pytest
from celery.signals import beat_init

from django_redbeat.beat.lock import BeatLock
from django_redbeat.schedulers import RedBeatScheduler
from support.processes import lock_holder_pid

pytestmark = pytest.mark.django_db  # our scheduler's statics signal rebuilds from the database

LOCK = "redbeat::lock"


@pytest.fixture
def celery_redbeat():
    """celery-redbeat's module imported, its receiver connected; as it was afterwards."""
    module = importlib.import_module("redbeat.schedulers")
    receiver = module.acquire_distributed_beat_lock
    was_connected = beat_init.disconnect(receiver)
    beat_init.connect(receiver)
    yield module
    beat_init.disconnect(receiver)
    if was_connected:
        beat_init.connect(receiver)


@pytest.fixture
def beat(celery_app):
    scheduler = RedBeatScheduler(app=celery_app)
    yield scheduler
    scheduler.close()


class Service:
    """What ``celery beat`` sends beat_init with, as far as the receivers look."""

    def __init__(self, scheduler):
        self.app, self.scheduler = scheduler.app, scheduler
        self._is_shutdown = threading.Event()


def service(scheduler):
    return Service(scheduler)


def test_our_scheduler_disconnects_it_and_takes_the_lock_with_its_own_token(
    celery_redbeat, beat, redis_client
):
    assert not beat_init.disconnect(celery_redbeat.acquire_distributed_beat_lock)

    beat_init.send(sender=service(beat))

    assert isinstance(beat.lock, BeatLock) and beat.holds_lock
    assert redis_client.get(LOCK) == beat.lock.token
    assert lock_holder_pid(redis_client) is not None  # host:pid:random, not redis-py's uuid


def test_a_lock_its_receiver_took_before_ours_ran_is_let_go_and_taken_as_ours(
    celery_redbeat, beat, redis_client, caplog
):
    # as when celery-redbeat's module is imported after our scheduler was made: its receiver,
    # connected first, runs first
    celery_redbeat.acquire_distributed_beat_lock(sender=service(beat))
    assert redis_client.get(LOCK) != getattr(beat.lock, "token", None)

    with caplog.at_level(logging.WARNING, logger="celery.beat"):
        beat_init.send(sender=service(beat))

    assert isinstance(beat.lock, BeatLock) and beat.holds_lock
    assert redis_client.get(LOCK) == beat.lock.token
    assert "Releasing the lock celery-redbeat's beat_init receiver took" in caplog.text
