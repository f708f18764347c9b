"""BeatLock: the distributed lock that lets one beat dispatch while others stand by.

It wraps redis-py's ``Lock``; renewal sets the TTL back to the full timeout
(``extend(replace_ttl=True)``) instead of adding to what is left. The token names the host and
process that hold it, so ``redbeat_status`` and the logs can say who is active.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import redis
from redis.lock import Lock

from django_redbeat.exceptions import LockNotOwned


def make_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def raw_client(client: Any) -> Any:
    """The redis client under a RetryingConnection (the lock runs its own scripts on it)."""
    return getattr(client, "wrapped_connection", client)


class BeatLock:
    def __init__(self, client: Any, name: str, timeout: float, *, token: str | None = None):
        self.name = name
        self.timeout = timeout
        self.token = token or make_token()
        self._lock = Lock(raw_client(client), name, timeout=timeout, thread_local=False)

    def acquire(self) -> bool:
        """Take the lock if it is free (or already ours); never waits."""
        if self.owned():
            return self.renew()
        return bool(self._lock.acquire(blocking=False, token=self.token))

    def renew(self) -> bool:
        """Set the TTL back to the full timeout; False if the lock is no longer ours."""
        try:
            return bool(self._lock.extend(self.timeout, replace_ttl=True))
        except redis.exceptions.LockNotOwnedError:
            return False

    def owned(self) -> bool:
        return bool(self._lock.owned())

    def release(self) -> None:
        try:
            self._lock.release()
        except redis.exceptions.LockError as exc:  # not ours, or never taken
            raise LockNotOwned(f"{self.name} is not held by {self.token}", self.name) from exc
