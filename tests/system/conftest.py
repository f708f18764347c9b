from __future__ import annotations

import pytest
import redis


@pytest.fixture
def broker_url(redis_server, redis_client) -> str:
    """Database 1 of the test Redis, emptied: the beats' broker."""
    url = redis_server.url.rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def broker(broker_url) -> redis.Redis:
    return redis.Redis.from_url(broker_url, decode_responses=True)
