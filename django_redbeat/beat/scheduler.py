"""RedBeatScheduler: Celery beat over the entries in Redis.

A tick reads only the due window: one round trip for the due keys and the next due time, one
for the due entries' hashes, one script call that claims their slots (slot_claims.py). Its cost
grows with the number of due entries (bounded per tick), not with the total. While a lock is
configured, the holder claims and sends on time; the others stand by (standby.py), sending only
what the holder leaves overdue, and take the lock when it is free. Each claimed run goes out
through Celery's ``apply_entry`` (sending.py), where tools such as Sentry Crons watch beat.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from functools import cached_property
from typing import Any

from celery import Celery
from celery.beat import Scheduler
from celery.signals import beat_init
from celery.utils.time import humanize_seconds

from django_redbeat import defaults
from django_redbeat.beat import catch_up, celery_redbeat_receiver, metrics, statics
from django_redbeat.beat.due_window import (
    Due,
    DueWindow,
    read_due_window,
    rescore,
    schedule_view,
)  # fmt: skip
from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.beat.lock import BeatLock, LockKeeper
from django_redbeat.beat.producer import declaring_once
from django_redbeat.beat.sending import ApplyEntrySender
from django_redbeat.beat.slot_claims import Claim, LockLost, SlotClaims
from django_redbeat.beat.standby import Standby
from django_redbeat.exceptions import LockNotOwned
from django_redbeat.signals import schedule_installed
from django_redbeat.store import keys
from django_redbeat.store.connection import RETRYABLE_ERRORS, get_redis
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.store.redis_urls import safe_url

logger = logging.getLogger("celery.beat")


class RedBeatScheduler(ApplyEntrySender, Scheduler):
    Entry = RedBeatSchedulerEntry

    #: The BeatLock this beat holds or tries to take; None without a lock.
    lock: BeatLock | None = None

    def __init__(
        self,
        app: Celery,
        lock_key: str | None = None,
        lock_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        conf = ensure_conf(app)
        self.lock_key = keys.lock_key(conf.key_prefix, lock_key) if lock_key else conf.lock_key
        self.lock_timeout = float(lock_timeout or conf.effective_lock_timeout)
        self.lock_renewal_interval = (
            conf.lock_renewal_interval
            if lock_timeout is None
            else self.lock_timeout * defaults.LOCK_RENEWAL_FRACTION
        )
        self.max_due_per_tick = conf.max_due_per_tick
        self.send_retry_window = conf.send_retry_window
        self.standby = Standby(self, conf.standby_grace)
        self.keeper: LockKeeper | None = None
        self._held = False
        self._statics_pending = False
        super().__init__(app, **kwargs)
        celery_redbeat_receiver.disconnect()  # it would take our lock with a token of its own
        self.Producer = declaring_once(self.Producer)
        # None unless redbeat_metrics_port is set. Not for the lazy scheduler `celery beat`
        # makes only to print its banner: it would hold the port the real one needs.
        self.metrics = None if kwargs.get("lazy") else metrics.attach(self)
        # a bad setting or a missing permission stops beat here, once; if Redis is away at
        # start, the ticks retry
        with contextlib.suppress(*RETRYABLE_ERRORS):
            get_redis(self.app)

    @cached_property
    def claims(self) -> SlotClaims:
        conf = self.app.redbeat_conf
        args = (conf.schedule_key, self.lock_key, conf.key_prefix, conf.history_length)
        return SlotClaims(get_redis(self.app), *args)

    # ---- statics (beat_schedule) -------------------------------------------------------------

    def setup_schedule(self) -> None:
        """Install ``beat_schedule``: now if no lock is used, else once the lock is held."""
        self._statics_pending = True
        if not self.lock_key or self._held:
            self.install_statics()

    def static_schedule(self) -> dict[str, Any]:
        """The entries installed as statics (before Celery's defaults): ``beat_schedule``."""
        return dict(self.app.redbeat_conf.schedule or {})

    def install_statics(self) -> None:
        schedule = self.static_schedule()
        self.install_default_entries(schedule)
        statics.prune(self.app, set(schedule))
        # all in one bulk write (update_from_dict's reads are one round trip per entry)
        self.Entry.save_many(statics.entries(self, schedule), app=self.app)
        self._statics_pending = False
        schedule_installed.send(sender=self)

    def update_from_dict(self, dict_: dict[str, Any]) -> None:
        """Store entries from a beat_schedule-style dict, each keeping its last run, as
        celery-redbeat does."""
        for entry in statics.entries(self, dict_):
            with contextlib.suppress(KeyError, ValueError):  # not stored yet, or unreadable
                entry.last_run_at = self.Entry.from_key(entry.key, app=self.app).last_run_at
            entry.save()

    # ---- the tick ----------------------------------------------------------------------------

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Send what is due; return the seconds to sleep before the next tick."""
        try:
            return self._tick()
        except RETRYABLE_ERRORS as exc:
            logger.error("beat: Redis unavailable (%s); trying again shortly", exc)
            return self._standby_interval()

    def _tick(self) -> float:
        if self.lock_key and not self._ensure_lock():
            light_tick_sleep = self.standby.tick()
            if not (self.standby.lock_may_be_free and self._ensure_lock()):
                return light_tick_sleep
        if self._statics_pending:
            self.install_statics()
        self._keep_alive(self.lock_timeout)
        window = self._read_due_window()
        try:
            sleep = self._run(window)
        except LockLost:
            self._lose_lock("another beat holds it now")
            return self._standby_interval()
        self._keep_alive(sleep + self.lock_timeout)
        return sleep

    @property
    def schedule(self) -> dict[str, RedBeatSchedulerEntry]:
        """The entries due now (at most ``max_due_per_tick``) and the next one due within
        ``max_interval``, by name: what celery-redbeat's ``schedule`` holds."""
        return schedule_view(self.app, self.Entry, self.max_due_per_tick, self.max_interval)

    def _read_due_window(self) -> DueWindow:
        return read_due_window(self.app, self.Entry, self.max_due_per_tick)

    def _run(self, window: DueWindow) -> float:
        """Claim and send the due entries; put back those read early; return the sleep."""
        if not window.due:
            return self._sleep_after(window, [], [], False)
        due, waiting = [], []
        for item in window.due:
            is_due, next_in = item.entry.is_due()
            if is_due:
                due.append(self._claim_for(item))
            else:
                waiting.append((item, next_in))
        claimed = self.claims.claim(due, self.lock.token if self.lock_key and self.lock else None)
        failed = [claim for claim in claimed.won if not self._send(claim)]
        retried = self.claims.retry_or_miss(failed, self.app.now(), self.send_retry_window)
        rescore(self.app, [item for item, _ in waiting])
        waits = [next_in for _, next_in in waiting] + claimed.not_yet  # early on Redis's clock
        poll = retried or bool(claimed.buffered)  # a buffered run waits on its worker: poll
        moved = claimed.won + claimed.skipped + claimed.missed
        return self._sleep_after(window, moved, waits, poll)

    def _claim_for(self, item: Due) -> Claim:
        return catch_up.claim_for(item, self.app.now())

    def _sleep_after(
        self, window: DueWindow, moved: list[Claim], waiting: list[float | None], poll: bool
    ) -> float:
        if window.truncated:
            return 0  # more entries are due now
        now = self.app.now().timestamp()
        candidates = [float(self.max_interval)] + [n for n in waiting if n is not None]
        if window.next_score is not None:
            candidates.append(window.next_score - now)
        candidates += [claim.after_score - now for claim in moved if claim.after_score >= 0]
        if poll:
            candidates.append(1.0)
        return max(0.0, min(candidates))

    # ---- the lock ----------------------------------------------------------------------------

    def wait_for_release(self, seconds: float, shutdown: threading.Event) -> None:
        """Stand by, light ticks included, until the lock may be free (released, expired) or
        ``seconds`` pass or ``shutdown`` is set."""
        self.standby.wait(seconds, shutdown)

    def _standby_interval(self) -> float:
        return self.lock_renewal_interval

    @property
    def holds_lock(self) -> bool:
        """True while this beat may send (it holds the lock, or none is used): what a beat
        loop waits on between ticks depends on it (a change, or the holder's release)."""
        return not self.lock_key or self._held

    def _ensure_lock(self) -> bool:
        """True while this beat holds the lock, taking it if it is free."""
        if self._held:
            if self.keeper is not None and self.keeper.lost.is_set():
                self._lose_lock("its renewal failed")
                return False
            return True
        if not isinstance(self.lock, BeatLock):
            if self.lock is not None:  # celery-redbeat's receiver ran before ours could stop it
                celery_redbeat_receiver.let_go(self.lock)
            self.lock = BeatLock(get_redis(self.app), self.lock_key, self.lock_timeout)
        if not self.standby.lock_may_be_free or not self.lock.acquire():
            self.standby.lock_may_be_free = False
            logger.debug("beat: Lock %s is held by another beat; standing by", self.lock_key)
            return False
        logger.info("beat: Acquired lock %s as %s", self.lock_key, self.lock.token)
        self._held = True
        self._statics_pending = True  # Redis may have lost them while another beat ran
        self.keeper = LockKeeper(self.lock, self.lock_renewal_interval).start()
        return True

    def _lose_lock(self, reason: str) -> None:
        logger.warning("beat: Lost lock %s (%s); standing by", self.lock_key, reason)
        self._held = False
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper = None

    def _keep_alive(self, seconds: float) -> None:
        if self.keeper is not None:
            self.keeper.keep_alive(seconds)

    def close(self) -> None:
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper = None
        if self._held and self.lock is not None:
            logger.info("beat: Releasing lock %s", self.lock_key)
            try:
                self.lock.release()
            except (LockNotOwned, *RETRYABLE_ERRORS) as exc:
                logger.warning("beat: Could not release lock %s: %s", self.lock_key, exc)
        self._held = False
        super().close()

    @property
    def info(self) -> str:
        conf = self.app.redbeat_conf
        lines = [f"       . redis -> {safe_url(conf.redis_url)}"]
        if self.lock_key:
            duration = humanize_seconds(self.lock_timeout)
            lines.append(f"       . lock -> `{self.lock_key}` {duration} ({self.lock_timeout}s)")
        return "\n".join(lines)


@beat_init.connect
def acquire_distributed_beat_lock(sender: Any = None, **kwargs: Any) -> None:
    """Take the beat lock when beat starts, waiting while another beat holds it."""
    scheduler = getattr(sender, "scheduler", None)
    if not isinstance(scheduler, RedBeatScheduler) or not scheduler.lock_key:
        return
    logger.info("beat: Acquiring lock %s...", scheduler.lock_key)
    while not _try_lock(scheduler):
        scheduler.wait_for_release(scheduler._standby_interval(), sender._is_shutdown)
        if sender._is_shutdown.is_set():
            return
    if scheduler._statics_pending:
        scheduler.install_statics()


def _try_lock(scheduler: RedBeatScheduler) -> bool:
    try:
        return scheduler._ensure_lock()
    except RETRYABLE_ERRORS as exc:
        logger.error("beat: Redis unavailable (%s) while taking the lock", exc)
        return False
