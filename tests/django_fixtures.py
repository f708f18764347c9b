"""Fixtures for the Django side: the Celery app sync and the admin use, a Redis client that
counts round trips, and a Redis server of the test's own that it may stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from redis.backoff import NoBackoff
from redis.retry import Retry

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.models import PeriodicTask
from support.redis_server import RedisServer
from tests.round_trips import RoundTripCounter

#: The Celery app of the running test: tests.settings.REDBEAT_CELERY_APP names it.
current_app: Celery | None = None


@pytest.fixture
def django_celery_app(celery_app: Celery) -> Iterator[Celery]:
    global current_app
    current_app = celery_app
    yield celery_app
    current_app = None


@pytest.fixture
def counting_redis(django_celery_app: Celery) -> RoundTripCounter:
    """Installs a counting client as the app's Redis client (``app.redbeat_redis``)."""
    from django_redbeat.store.connection import get_redis

    counting = RoundTripCounter(get_redis(django_celery_app))
    django_celery_app.redbeat_redis = counting
    return counting


@pytest.fixture
def own_redis(tmp_path: Path, django_celery_app: Celery) -> Iterator[RedisServer]:
    """A redis-server for this test alone, which it may stop and start; the app uses it.

    The client fails at once when the server is away (beat's client would retry for seconds).
    """
    server = RedisServer(tmp_path / "own-redis")
    server.start()
    django_celery_app.conf.redbeat_redis_url = server.url
    django_celery_app.conf.redbeat_redis_options = {
        "retry": Retry(NoBackoff(), 0),
        "retry_period": 0,
    }
    yield server
    server.stop()


def make_task(name: str = "job", **fields: Any) -> PeriodicTask:
    """A saved interval task (every 5 minutes unless ``fields`` say otherwise)."""
    values = {"task": "tests.add", "kind": "interval", "every": 5, "period": "minutes"}
    return PeriodicTask.objects.create(name=name, **{**values, **fields})


def stored(celery_app: Celery, name: str = "job") -> RedBeatSchedulerEntry:
    """The entry Redis holds for a task."""
    return RedBeatSchedulerEntry.from_key("redbeat:" + name, app=celery_app)
