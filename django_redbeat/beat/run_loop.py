"""The beat loop of ``manage.py redbeat_run``: tick, then sleep until the next due time or a save.

``celery beat`` sleeps with ``time.sleep``; this loop sleeps on Redis. The lock holder listens
on the prefix's wake-up channel, to which every save of an entry publishes
(:meth:`RedBeatSchedulerEntry.save_many`): an entry saved in the admin is read at once, and one
due before the current sleep would end is not delayed by it. A standby runs its light tick
(standby.py) every second, sending what the holder leaves overdue, and in between waits for the
holder to release the lock. SIGTERM and SIGINT end the loop between ticks, never inside one,
and the lock is released at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

from celery import Celery
from celery.signals import beat_init
from celery.utils.time import humanize_seconds
from redis.exceptions import RedisError

from django_redbeat.beat.scheduler import RedBeatScheduler
from django_redbeat.exceptions import LockNotOwned
from django_redbeat.store import keys
from django_redbeat.store.connection import RETRYABLE_ERRORS, get_redis, plain

logger = logging.getLogger("celery.beat")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Shutdown(BaseException):
    """Raised by the signal handler while beat waits (celery's Signal.send lets it through)."""


class BeatRunner:
    """Runs a RedBeatScheduler until stopped: by SIGTERM or SIGINT, or by :meth:`stop`.

    It is the ``sender`` of Celery's ``beat_init`` signal, with the attributes receivers use on
    celery's own ``Service`` (``app``, ``scheduler``, ``_is_shutdown``). A standby waits in
    that signal (or, without it, between ticks), light ticks included, until the lock is free.
    """

    def __init__(self, app: Celery, scheduler: RedBeatScheduler) -> None:
        self.app = app
        self.scheduler = scheduler
        self.channel = keys.wakeup_channel(app.redbeat_conf.key_prefix)
        #: When (time.monotonic) the current sleep ends; None while beat is not asleep.
        self.sleeping_until: float | None = None
        self._is_shutdown = threading.Event()
        self._interruptible = False
        self._pubsub: Any = None
        self._refused = False  # Redis refused the subscription: not asked again

    def start(self) -> None:
        with self._signal_handlers():
            try:
                self._subscribe()  # before the first tick: no change after it is missed
                with self._interruptible_wait():
                    self._send_beat_init()
                while not self._is_shutdown.is_set():
                    self.sleep(self.scheduler.tick())
            except Shutdown:
                logger.info("beat: Shutting down...")
            finally:
                self.close()

    def _send_beat_init(self) -> None:
        """Celery's ``beat_init``, as ``celery beat`` sends it (our receiver takes the lock;
        celery-redbeat's, if its module is imported, our scheduler disconnected)."""
        beat_init.send(sender=self)  # takes the lock, waiting while another beat holds it

    def stop(self) -> None:
        """Stop the loop from another thread (a holder wakes at once, a standby soon)."""
        self._is_shutdown.set()
        with suppress(RedisError):  # not woken: it stops when its sleep ends
            get_redis(self.app).publish(self.channel, keys.WAKEUP_MESSAGE)

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        logger.debug("beat: Waking up %s.", humanize_seconds(seconds, prefix="in "))
        self.sleeping_until = time.monotonic() + seconds
        try:
            with self._interruptible_wait():
                if self._is_shutdown.is_set():
                    return
                if self.scheduler.holds_lock:
                    self._wait_for_change(seconds)
                else:
                    self.scheduler.wait_for_release(seconds, self._is_shutdown)
        finally:
            self.sleeping_until = None

    def close(self) -> None:
        self._is_shutdown.set()
        self._unsubscribe()
        self._release_untracked_lock()
        self.scheduler.close()

    # ---- waiting ---------------------------------------------------------------------------

    def _wait_for_change(self, seconds: float) -> None:
        """Until a save publishes on the wake-up channel, or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        try:
            pubsub = self._subscribe()
            while pubsub is not None and (left := deadline - time.monotonic()) > 0:
                if pubsub.get_message(timeout=left) is not None:  # None: a subscribe reply
                    self._drain(pubsub)
                    logger.debug("beat: Woken by a change")
                    return
            if pubsub is not None:
                return
        except RETRYABLE_ERRORS as exc:
            logger.debug("beat: Cannot listen for changes (%s)", exc)
            self._unsubscribe()  # subscribe again on a fresh connection next time
        except RedisError as exc:
            self._refuse(exc)
        # not listening (Redis is away): a change would go unseen, so tick again as soon as a
        # standby would try the lock
        left = min(deadline - time.monotonic(), self.scheduler.lock_renewal_interval)
        self._is_shutdown.wait(max(0.0, left))

    def _subscribe(self) -> Any:
        """The wake-up channel's subscription (made once), or None while Redis is away or
        refuses it (then beat sleeps its full time, as ``celery beat`` does)."""
        if self._pubsub is None and not self._refused:
            client = get_redis(self.app)
            raw = plain(client)  # a blocking read: no retries
            try:
                pubsub = raw.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
            except RETRYABLE_ERRORS as exc:
                logger.debug("beat: Cannot listen for changes yet (%s)", exc)
                return None
            except RedisError as exc:
                self._refuse(exc)
                return None
            self._pubsub = pubsub
        return self._pubsub

    def _refuse(self, exc: RedisError) -> None:
        """Redis refused the subscription (an ACL user without the channel or SUBSCRIBE)."""
        logger.warning(
            "beat: Cannot subscribe to %s (%s): saved changes will not wake beat. "
            "Grant the user &%s* and +subscribe.",
            self.channel, exc, self.app.redbeat_conf.key_prefix,
        )  # fmt: skip
        self._refused = True
        self._unsubscribe()

    def _unsubscribe(self) -> None:
        if self._pubsub is not None:
            with suppress(*RETRYABLE_ERRORS):
                self._pubsub.close()
            self._pubsub = None

    @staticmethod
    def _drain(pubsub: Any) -> None:
        """Drop the other messages already received: one tick reads every change."""
        while pubsub.get_message(timeout=0) is not None:
            pass

    # ---- signals ---------------------------------------------------------------------------

    @contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only; stop() ends the loop
            return
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._is_shutdown.set()
        if self._interruptible:  # else the loop ends once the tick is over
            raise Shutdown(signum)

    @contextmanager
    def _interruptible_wait(self) -> Iterator[None]:
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def _release_untracked_lock(self) -> None:
        """Release the lock if a signal cut in between taking it and recording it."""
        lock = self.scheduler.lock
        if lock is None or self.scheduler.holds_lock:
            return  # the scheduler releases a lock it knows it holds
        with suppress(LockNotOwned, *RETRYABLE_ERRORS):
            if lock.owned():
                lock.release()
