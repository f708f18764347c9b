"""A standby's light tick: what a dead, frozen or cut-off lock holder leaves unsent goes out.

While another beat holds the lock, a standby asks Redis once a second, in one script call
(``slot_claims.OVERDUE``), for the slots overdue by more than the grace on Redis's own clock,
and for the lock's token. It claims those slots through the holder's claim script and its
compare-and-set, without the lock but only if they are still overdue by the grace, and sends
them with the same headers. A healthy holder sends on time, so it leaves nothing to a standby;
one that stops leaves its runs a grace and at most one interval late, not a lock TTL late.

The lock still decides who does what needs one owner (statics, the database's startup sync, the
on-time ticks): when a light tick finds it free, the beat takes it. Between light ticks a
standby waits on the lock's handover list, so a clean shutdown hands over at once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django_redbeat import defaults
from django_redbeat.beat.due_window import load_due
from django_redbeat.beat.slot_claims import Overdue
from django_redbeat.decoder import from_timestamp
from django_redbeat.store.connection import RETRYABLE_ERRORS

logger = logging.getLogger("celery.beat")


class Standby:
    """The light tick of a RedBeatScheduler that does not hold the lock."""

    def __init__(
        self, scheduler: Any, grace: float, interval: float = defaults.STANDBY_INTERVAL
    ) -> None:
        self.scheduler = scheduler
        self.grace = grace
        self.interval = interval
        #: False while the last light tick saw another beat hold the lock: the beat does not
        #: try to take it then (a try costs two round trips; the light tick saw it for free).
        self.lock_may_be_free = True
        self._next_tick = time.monotonic()

    def tick(self) -> float:
        """Send what is overdue by the grace; return the seconds until the next light tick."""
        beat = self.scheduler
        found = beat.claims.overdue(self.grace, beat.max_due_per_tick)
        own = beat.lock.token if beat.lock is not None else None
        self.lock_may_be_free = found.lock_token in (None, own)
        if found.slots:
            self._send_overdue(found)
        wait = 0.0 if found.truncated else self.interval
        self._next_tick = time.monotonic() + wait
        return wait

    def _send_overdue(self, found: Overdue) -> None:
        beat = self.scheduler
        now = from_timestamp(found.now)  # the entries are judged on Redis's clock too
        loaded = load_due(beat.app, beat.Entry, found.slots, now)
        due = [beat._claim_for(item) for item in loaded if item.entry.is_due().is_due]
        won = beat.claims.claim(due, None, self.grace).won
        failed = [claim for claim in won if not beat._send(claim)]
        beat.claims.retry_or_miss(failed, now, beat.send_retry_window)
        if won:
            logger.warning(
                "beat: Sent %d run(s) that the lock holder left overdue by more than %g s",
                len(won), self.grace,
            )  # fmt: skip

    def wait(self, seconds: float, shutdown: threading.Event) -> None:
        """Stand by for up to ``seconds``: a light tick every interval, the handover list
        watched in between. Returns early once the lock may be free, or at ``shutdown``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not shutdown.is_set():
            try:
                if time.monotonic() >= self._next_tick:
                    self.tick()
                if self.lock_may_be_free or self._handed_over(left, shutdown):
                    return
            except RETRYABLE_ERRORS as exc:
                logger.error("beat: Redis unavailable (%s) while standing by", exc)
                shutdown.wait(min(left, self.interval))

    def _handed_over(self, left: float, shutdown: threading.Event) -> bool:
        """Wait on the handover list until the next light tick; True if the holder let go."""
        lock = self.scheduler.lock
        until_tick = min(left, max(0.0, self._next_tick - time.monotonic()))
        if lock is None:  # the lock was never tried: there is no handover to wait for
            shutdown.wait(until_tick)
            return False
        if not lock.wait_for_release(until_tick):
            return False
        self.lock_may_be_free = True
        return True
