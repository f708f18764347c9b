"""The Redis client beat uses: built once per Celery app, retried on connection errors.

``get_redis(app)`` caches the client as ``app.redbeat_redis`` (as celery-redbeat does); a test
suite may set that attribute to inject its own client.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery
from celery.app import app_or_default
from kombu.utils.url import maybe_sanitize_url
from redis.backoff import NoBackoff
from redis.retry import Retry

from django_redbeat import defaults
from django_redbeat.config import RedBeatConfig, ensure_conf

logger = logging.getLogger("celery.beat")

#: Errors worth retrying: the server is away, restarting (LOADING) or failing over.
RETRYABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

#: Options django-redbeat reads itself; they are never passed on to the redis client.
INTERNAL_OPTIONS = frozenset(
    {"retry_period", "cluster", "sentinels", "service_name", "sentinel_kwargs", "startup_nodes"}
)


class ExponentialBackoff:
    """Waits 2**failures * ``base`` seconds, at most ``cap``."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base, self.cap = base, cap

    def compute(self, failures: int) -> float:
        return min(self.cap, self.base * 2**failures)


class RetryingConnection:
    """Delegates to a Redis client, retrying connection and time-out errors with backoff.

    Commands, pipelines (replayed whole), transactions and registered scripts are all retried.
    It stops retrying once ``retry_period`` seconds have passed (a negative period: never).
    """

    def __init__(
        self,
        retry_period: float,
        wrapped_connection: Any,
        *,
        backoff: ExponentialBackoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.wrapped_connection = wrapped_connection
        self.retry_period = retry_period
        self.backoff = backoff or ExponentialBackoff()
        self._clock, self._sleep = clock, sleep
        self._budget = threading.local()

    @contextmanager
    def retry_budget(self, seconds: float) -> Iterator[None]:
        """Retry for at most ``seconds`` in this block, in this thread only."""
        previous = getattr(self._budget, "period", None)
        self._budget.period = (
            min(seconds, self.retry_period) if self.retry_period >= 0 else seconds
        )
        try:
            yield
        finally:
            self._budget.period = previous

    def __getattr__(self, item: str) -> Any:
        attribute = getattr(self.wrapped_connection, item)
        if not callable(attribute):
            return attribute
        return functools.partial(self.call_with_retry, attribute)

    def call_with_retry(self, do: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        period = getattr(self._budget, "period", None)
        period = self.retry_period if period is None else period
        deadline = self._clock() + period
        failures = 0
        while True:
            try:
                return do(*args, **kwargs)
            except RETRYABLE_ERRORS as exc:
                delay = self.backoff.compute(failures)
                failures += 1
                if period >= 0 and self._clock() + delay > deadline:
                    raise
                logger.warning("beat: Redis unavailable (%s); retrying in %.2f s", exc, delay)
                self._sleep(delay)

    def pipeline(self, *args: Any, **kwargs: Any) -> RetryingPipeline:
        return RetryingPipeline(self.wrapped_connection.pipeline(*args, **kwargs), self)

    def register_script(self, script: str) -> Callable[..., Any]:
        script_object = self.wrapped_connection.register_script(script)
        return functools.partial(self.call_with_retry, script_object)


class RetryingPipeline:
    """A pipeline whose ``execute`` replays the queued commands after a connection error."""

    def __init__(self, pipeline: Any, retrying: RetryingConnection) -> None:
        self._pipeline = pipeline
        self._retrying = retrying

    def __getattr__(self, item: str) -> Any:
        return getattr(self._pipeline, item)

    def __enter__(self) -> RetryingPipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pipeline.reset()

    def __len__(self) -> int:
        return len(self._pipeline)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        queued = list(self._pipeline.command_stack)

        def replay() -> list[Any]:
            # a failed execute() resets the pipeline: queue the same commands again
            self._pipeline.command_stack = list(queued)
            return self._pipeline.execute(raise_on_error=raise_on_error)

        return self._retrying.call_with_retry(replay)


@contextmanager
def brief_retries(app: Celery, seconds: float = defaults.REQUEST_RETRY_PERIOD) -> Iterator[None]:
    """Redis calls in this block give up after ``seconds``: an admin save must not hang for
    half the lock timeout while Redis is down (the change reaches Redis at the next sync)."""
    client = get_redis(app)
    if not isinstance(client, RetryingConnection):
        yield
        return
    with client.retry_budget(seconds):
        yield


def get_redis(app: Celery | None = None) -> Any:
    """The app's Redis client, built from its configuration on first use."""
    app = app_or_default(app)
    client = getattr(app, "redbeat_redis", None)
    if client is None:
        client = connect(ensure_conf(app))
        app.redbeat_redis = client
    return client


def connect(conf: RedBeatConfig) -> RetryingConnection:
    options = dict(conf.redbeat_redis_options)
    client = _raw_client(conf, options)
    logger.debug("beat: Redis client for %s", maybe_sanitize_url(conf.redis_url))
    return RetryingConnection(retry_period(conf), client)


def retry_period(conf: RedBeatConfig) -> float:
    """Seconds to retry a Redis call: ``retry_period``, at most half the lock timeout.

    A holder stuck retrying longer than its lock lives would come back believing it still
    holds a lock that a standby has taken.
    """
    cap = conf.lock_timeout * defaults.RETRY_FRACTION_OF_LOCK
    configured = conf.redbeat_redis_options.get("retry_period")
    if configured is None:
        return cap
    period = float(configured)
    if conf.lock_key and (period < 0 or period > cap):
        logger.warning(
            "beat: retry_period %s s is longer than half the lock timeout; using %s s",
            configured, cap,
        )  # fmt: skip
        return cap
    return period


def _client_options(conf: RedBeatConfig, options: dict[str, Any]) -> dict[str, Any]:
    passthrough = {k: v for k, v in options.items() if k not in INTERNAL_OPTIONS}
    if not conf.is_key_in_conf("redbeat_redis_options"):
        # inherited broker_transport_options are the broker's, not the scheduler client's
        passthrough = {}
    return {**passthrough, "decode_responses": True}


def _raw_client(conf: RedBeatConfig, options: dict[str, Any]) -> Any:
    url = conf.redis_url
    client_options = _client_options(conf, options)
    if options.get("cluster") or url.startswith("redis-cluster"):
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(url.replace("redis-cluster", "redis", 1), **client_options)
    if url.startswith("redis-sentinel") or options.get("sentinels"):
        return _sentinel_master(options, client_options)
    if url.startswith("rediss"):
        client_options = {**_ssl_options(conf), **client_options}
    # RetryingConnection retries with its own budget; redis-py's retries would multiply it
    client_options = {
        "retry": Retry(NoBackoff(), 0),
        "socket_connect_timeout": 5,
        **client_options,
    }
    return redis.Redis.from_url(url, **client_options)


def _ssl_options(conf: RedBeatConfig) -> dict[str, Any]:
    ssl_options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    if isinstance(conf.redis_use_ssl, dict):
        ssl_options.update(conf.redis_use_ssl)
    return ssl_options


def _sentinel_master(options: dict[str, Any], client_options: dict[str, Any]) -> Any:
    from redis.sentinel import Sentinel

    sentinel = Sentinel(
        options["sentinels"],
        sentinel_kwargs=options.get("sentinel_kwargs"),
        **client_options,
    )
    # one client whose pool follows the current master, not a new client per call
    return sentinel.master_for(options.get("service_name", "master"))
