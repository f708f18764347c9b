"""Fixtures: one real redis-server for the session, an empty keyspace per test, a Celery app
whose clock the test controls, and the messages beat sent, read back from the broker."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from celery import Celery

from support.redis_server import RedisServer
from tests.django_fixtures import counting_redis, django_celery_app, own_redis  # noqa: F401
from tests.metrics_fixtures import metrics_app, metrics_beat  # noqa: F401
from tests.round_trips import RoundTripCounter


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    yield client
    client.close()


class Clock:
    """A clock the test moves by hand (no sleeping): ``app.now`` reads it."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 1, 15, 12, 0, 0, tzinfo=timezone.utc))


@pytest.fixture
def celery_app(redis_client: redis.Redis, redis_url: str, clock: Clock) -> Iterator[Celery]:
    app = Celery("tests", set_as_current=False)
    app.conf.update(
        broker_url="memory://",
        redbeat_redis_url=redis_url,
        beat_schedule={},
        timezone="UTC",
        result_expires=None,
    )
    app.now = clock  # type: ignore[method-assign]

    @app.task(name="tests.add", shared=False)
    def add(*args: Any, **kwargs: Any) -> None:
        """Takes whatever the entries give it."""

    yield app
    app.close()


@pytest.fixture
def broker(celery_app: Celery) -> Iterator[Any]:
    """Reads what was sent to a queue of the in-memory broker: ``broker.messages("q")``."""
    connection = celery_app.connection_for_read()

    class Broker:
        def messages(self, queue_name: str = "celery") -> list[Any]:
            simple = connection.SimpleQueue(queue_name)
            found = []
            while True:
                try:
                    message = simple.get(timeout=0.05)
                except queue.Empty:
                    return found
                message.ack()
                found.append(message)

    broker = Broker()
    for name in ("q", "celery"):  # the memory transport is process-wide: start empty
        broker.messages(name)
    yield broker
    connection.release()


@pytest.fixture
def round_trips(celery_app: Celery, redis_url: str) -> RoundTripCounter:
    """Installs a counting client as the app's Redis client (the injection users rely on)."""
    counter = RoundTripCounter(redis.Redis.from_url(redis_url, decode_responses=True))
    celery_app.redbeat_redis = counter
    return counter
