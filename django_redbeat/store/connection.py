"""The Redis client beat uses: built once per Celery app, retried on connection errors.

``get_redis(app)`` caches the client as ``app.redbeat_redis`` (as celery-redbeat does); a test
suite may set that attribute to inject its own client.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery
from celery.app import app_or_default
from redis.backoff import AbstractBackoff, ExponentialBackoff

from django_redbeat import defaults
from django_redbeat.signals import redis_error
from django_redbeat.store import permissions, plain_client
from django_redbeat.store.plain_client import INTERNAL_OPTIONS
from django_redbeat.store.redbeat_config import RedBeatConfig, ensure_conf
from django_redbeat.store.redis_urls import safe_url

logger = logging.getLogger("celery.beat")

#: Errors worth retrying: the server is away, restarting (LOADING) or failing over.
RETRYABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

#: Connection errors that another try cannot fix: wrong credentials.
NOT_RETRIED = (redis.exceptions.AuthenticationError,)

__all__ = [
    "INTERNAL_OPTIONS", "RETRYABLE_ERRORS", "RetryingConnection",
    "RetryingPipeline", "brief_retries", "connect", "get_redis", "retry_period", "safe_url",
]  # fmt: skip


def plain(client: Any) -> Any:
    """The redis-py client under a RetryingConnection, or ``client`` itself: for what must not
    be retried call by call (a blocking read, redis-py's own Lock scripts, a type check)."""
    return getattr(client, "wrapped_connection", client)


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
        backoff: AbstractBackoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.wrapped_connection = wrapped_connection
        self.retry_period = retry_period
        self.backoff = backoff or ExponentialBackoff(cap=5.0, base=0.1)
        self._clock, self._sleep = clock, sleep
        self._budget = threading.local()
        self._scripts: dict[str, Callable[..., Any]] = {}

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
            except NOT_RETRIED:
                raise
            except RETRYABLE_ERRORS as exc:
                redis_error.send(sender=self, exception=exc)
                delay = self.backoff.compute(failures)
                failures += 1
                if period >= 0 and self._clock() + delay > deadline:
                    raise
                logger.warning("beat: Redis unavailable (%s); retrying in %.2f s", exc, delay)
                self._sleep(delay)

    def pipeline(self, transaction: bool | None = None, *args: Any, **kwargs: Any) -> Any:
        if transaction is None:
            # as on one server, a plain pipeline() is a transaction, also on a cluster (the
            # hash-tagged prefix keeps beat's keys in one slot, as MULTI there requires)
            transaction = True
        pipe = self.wrapped_connection.pipeline(transaction, *args, **kwargs)
        return RetryingPipeline(pipe, self)

    def register_script(self, script: str) -> Callable[..., Any]:
        """The script, callable with retries; registered once per text (callers register at
        each use, beat at every tick: its SHA-1 is not computed again)."""
        registered = self._scripts.get(script)
        if registered is None:
            script_object = self.wrapped_connection.register_script(script)
            registered = functools.partial(self.call_with_retry, script_object)
            self._scripts[script] = registered
        return registered


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
        queued = _queue(self._pipeline)

        def replay() -> list[Any]:
            # a failed execute() resets the pipeline: queue the same commands again
            _requeue(self._pipeline, queued)
            return self._pipeline.execute(raise_on_error=raise_on_error)

        return self._retrying.call_with_retry(replay)


def _queue(pipeline: Any) -> list[tuple[Any, Any]]:
    """The queued commands as (args, options), of a pipeline or a cluster pipeline."""
    strategy = getattr(pipeline, "_execution_strategy", None)
    if strategy is None:
        return list(pipeline.command_stack)
    return [(command.args, command.options) for command in strategy.command_queue]


def _requeue(pipeline: Any, queued: list[tuple[Any, Any]]) -> None:
    if getattr(pipeline, "_execution_strategy", None) is None:
        pipeline.command_stack = list(queued)
        return
    pipeline.reset()
    for args, options in queued:  # through the front door: a transaction notes their slots
        pipeline.execute_command(*args, **options)


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
    """The app's Redis client, built from its configuration on first use.

    Building it checks, once, that the Redis user may run what django-redbeat needs
    (ConfigurationError if not; nothing is checked while Redis is unreachable).
    """
    app = app_or_default(app)
    client = getattr(app, "redbeat_redis", None)
    if client is None:
        conf = ensure_conf(app)
        client = connect(conf)
        permissions.verify(client.wrapped_connection, conf.key_prefix, conf.redis_url)
        app.redbeat_redis = client
    return client


def connect(conf: RedBeatConfig) -> RetryingConnection:
    """A new retrying client for ``conf``: one server, TLS, Sentinel or Cluster."""
    client = plain_client.build(conf)
    logger.debug("beat: Redis client for %s", safe_url(conf.redis_url))
    return RetryingConnection(retry_period(conf), client)


def retry_period(conf: RedBeatConfig) -> float:
    """Seconds to retry a Redis call: ``retry_period``, at most half the lock timeout.

    A holder stuck retrying longer than its lock lives would come back believing it still
    holds a lock that a standby has taken.
    """
    cap = conf.effective_lock_timeout * defaults.RETRY_FRACTION_OF_LOCK
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
