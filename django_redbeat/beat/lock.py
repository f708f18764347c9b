"""BeatLock: the distributed lock that lets one beat dispatch while others stand by.

It wraps redis-py's ``Lock``; renewal sets the TTL back to the full timeout
(``extend(replace_ttl=True)``) instead of adding to what is left. The token names the host and
process that hold it, so the logs and ``redbeat_status`` can say who is active. A
:class:`LockKeeper` renews it on a timer of its own, so neither a long tick nor a long sleep lets
it lapse, while a beat loop that stops making progress lets it go.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from redis.lock import Lock

from django_redbeat.exceptions import LockNotOwned
from django_redbeat.store.connection import plain

logger = logging.getLogger("celery.beat")


def make_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class BeatLock:
    def __init__(self, client: Any, name: str, timeout: float, *, token: str | None = None):
        self.name = name
        self.timeout = timeout
        self.token = token or make_token()
        # the lock runs its own scripts on the plain client; retries come from the wrapper
        raw = plain(client)
        self._retry: Callable[..., Any] = getattr(client, "call_with_retry", _call)
        self._client = client
        self._lock = Lock(raw, name, timeout=timeout, thread_local=False)

    @property
    def handover_key(self) -> str:
        """A list a releasing holder pushes to, waking one standby at once."""
        return self.name + ":handover"

    def acquire(self) -> bool:
        """Take the lock if it is free (or already ours); never waits."""
        if self.owned():
            return self.renew()
        return bool(self._retry(self._lock.acquire, blocking=False, token=self.token))

    def renew(self) -> bool:
        """Set the TTL back to the full timeout; False if the lock is no longer ours."""
        try:
            return bool(self._retry(self._lock.extend, self.timeout, replace_ttl=True))
        except redis.exceptions.LockError:  # expired, taken by another, or never taken
            return False

    def owned(self) -> bool:
        return bool(self._retry(self._lock.owned))

    def release(self) -> None:
        """Free the lock and wake a standby waiting in :meth:`wait_for_release`."""
        try:
            self._retry(self._lock.release)
        except redis.exceptions.LockError as exc:  # not ours, or never taken
            raise LockNotOwned(f"{self.name} is not held by {self.token}", self.name) from exc
        with self._client.pipeline() as pipe:
            pipe.rpush(self.handover_key, self.token)
            pipe.expire(self.handover_key, max(1, int(self.timeout)))  # no standby: it lapses
            pipe.execute()

    def wait_for_release(self, timeout: float) -> bool:
        """Block until a holder releases the lock (True) or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        step = self._longest_block()
        while (left := deadline - time.monotonic()) > 0:
            # several short waits: one longer than the socket timeout would fail as a time-out
            if self._client.blpop([self.handover_key], timeout=min(left, step)) is not None:
                return True
        return False

    def _longest_block(self) -> float:
        # redis-py's default socket timeout is not in the pool's kwargs (it may have one of its
        # own), so wait at most a second at a time; less under a shorter, configured timeout
        raw = plain(self._client)
        pool = getattr(raw, "connection_pool", None)
        socket_timeout = getattr(pool, "connection_kwargs", {}).get("socket_timeout")
        return min(1.0, socket_timeout / 2) if socket_timeout else 1.0


def _call(do: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return do(*args, **kwargs)


class LockKeeper:
    """Renews a held lock every ``interval`` seconds in a daemon thread.

    The beat loop says how long it expects to stay busy or asleep (:meth:`keep_alive`); past
    that the keeper stops renewing, so a hung beat loses the lock to a standby. When renewal
    finds the lock gone, :attr:`lost` is set and the keeper stops.
    """

    def __init__(
        self, lock: BeatLock, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lock = lock
        self.interval = interval
        self.lost = threading.Event()
        self._clock = clock
        self._alive_until = clock() + lock.timeout
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redbeat-lock", daemon=True)

    def start(self) -> LockKeeper:
        self._thread.start()
        return self

    def keep_alive(self, seconds: float) -> None:
        """The beat loop will be back within ``seconds``: keep renewing until then."""
        self._alive_until = self._clock() + seconds

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.interval + 1)

    def renew_once(self) -> bool:
        """One renewal, if the beat loop is alive; False once the lock is lost."""
        if self._clock() > self._alive_until:
            logger.warning("beat: Beat loop stalled; no longer renewing lock %s", self.lock.name)
            return True
        try:
            renewed = self.lock.renew()
        except redis.exceptions.RedisError as exc:
            logger.warning("beat: Could not renew lock %s: %s", self.lock.name, exc)
            return True  # the next renewal, or the claim check, decides
        if not renewed:
            logger.warning("beat: Lock %s was lost (expired or taken)", self.lock.name)
            self.lost.set()
        return renewed

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            if not self.renew_once():
                return
