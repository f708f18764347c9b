"""RedBeatScheduler: Celery beat over the entries in Redis.

A tick reads only the due window: one round trip for the due keys and the next due time, one for
the due entries' hashes, one to write back their run state. Its cost grows with the number of
due entries (bounded per tick), not with the total.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from celery.beat import Scheduler
from celery.signals import beat_init
from celery.utils.time import humanize_seconds
from kombu.utils.url import maybe_sanitize_url

from django_redbeat import defaults, keys
from django_redbeat.config import ensure_conf
from django_redbeat.connection import get_redis
from django_redbeat.decoder import to_timestamp
from django_redbeat.entry import RedBeatSchedulerEntry
from django_redbeat.exceptions import DecodeError, EntryNotFound
from django_redbeat.lock import BeatLock

logger = logging.getLogger("celery.beat")


@dataclass
class DueWindow:
    """What one tick read: the due entries, whether more were left, the next due time."""

    entries: list[RedBeatSchedulerEntry] = field(default_factory=list)
    truncated: bool = False
    next_score: float | None = None


class RedBeatScheduler(Scheduler):
    Entry = RedBeatSchedulerEntry

    #: The BeatLock while this process holds it (or tries to); None without a lock.
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
        self.lock_timeout = float(lock_timeout or conf.lock_timeout)
        self.max_due_per_tick = conf.max_due_per_tick
        self._statics_pending = False
        super().__init__(app, **kwargs)

    # ---- statics (beat_schedule) -------------------------------------------------------------

    def setup_schedule(self) -> None:
        """Install ``beat_schedule``: now if no lock is used, else once the lock is held."""
        self._statics_pending = True
        if not self.lock_key or self._holds_lock():
            self.install_statics()

    def install_statics(self) -> None:
        conf = self.app.redbeat_conf
        schedule = dict(conf.schedule or {})
        self.install_default_entries(schedule)
        self._prune_statics(set(schedule))
        self.update_from_dict(schedule)
        self._statics_pending = False

    def _prune_statics(self, current: set[str]) -> None:
        """Delete the entries that came from beat_schedule and are no longer in it."""
        conf = self.app.redbeat_conf
        client = get_redis(self.app)
        removed = set(client.smembers(conf.statics_key)) - current
        with client.pipeline() as pipe:
            for name in removed:
                key = keys.entry_key(conf.key_prefix, name)
                pipe.zrem(conf.schedule_key, key)
                pipe.delete(key)
            pipe.delete(conf.statics_key)
            if current:
                pipe.sadd(conf.statics_key, *current)
            pipe.execute()
        for name in sorted(removed):
            logger.info("beat: Removed static entry %r (no longer in beat_schedule)", name)

    def update_from_dict(self, dict_: dict[str, Any]) -> None:
        """Store entries from a beat_schedule-style dict; run state in Redis is kept."""
        entries = []
        for name, value in dict_.items():
            try:
                entries.append(self._maybe_entry(name, value))
            except Exception as exc:  # one bad entry must not stop the others
                logger.error("beat: Cannot add entry %r: %s. Contents: %r", name, exc, value)
        self.Entry.save_many(entries, app=self.app)

    # ---- the tick ----------------------------------------------------------------------------

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Send what is due; return the seconds to sleep before the next tick."""
        if self.lock_key and not self._keep_lock():
            return self._standby_interval()
        if self._statics_pending:
            self.install_statics()
        window = self._read_due_window()
        rewrite = [self._dispatch(entry) for entry in window.entries]
        self._write_run_state([entry for entry in rewrite if entry is not None])
        return self._sleep_after(window)

    @property
    def schedule(self) -> dict[str, RedBeatSchedulerEntry]:
        """The due window: the entries due now (at most ``max_due_per_tick``), by name."""
        return {entry.name: entry for entry in self._read_due_window().entries}

    def _read_due_window(self) -> DueWindow:
        conf = self.app.redbeat_conf
        now = to_timestamp(self.app.now())
        client = get_redis(self.app)
        with client.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(conf.schedule_key, 0, now, start=0, num=self.max_due_per_tick + 1)
            pipe.zrangebyscore(conf.schedule_key, f"({now}", "+inf", 0, 1, withscores=True)
            due_keys, upcoming = pipe.execute()
        window = DueWindow(truncated=len(due_keys) > self.max_due_per_tick)
        window.next_score = upcoming[0][1] if upcoming else None
        window.entries = self._load(due_keys[: self.max_due_per_tick])
        return window

    def _load(self, due_keys: list[str]) -> list[RedBeatSchedulerEntry]:
        """Read the due entries in one round trip; skip (and keep) those that cannot be read."""
        if not due_keys:
            return []
        with get_redis(self.app).pipeline(transaction=False) as pipe:
            for key in due_keys:
                pipe.hmget(key, "definition", "meta")
            stored = pipe.execute()
        entries = []
        for key, (definition, meta) in zip(due_keys, stored, strict=True):
            try:
                entries.append(self.Entry.from_stored(key, definition, meta, app=self.app))
            except EntryNotFound:
                self._drop_dangling(key)
            except DecodeError as exc:
                self._set_aside(key, exc)
        return entries

    def _drop_dangling(self, key: str) -> None:
        logger.error("beat: %s is in the schedule but has no definition; removing it", key)
        get_redis(self.app).zrem(self.app.redbeat_conf.schedule_key, key)

    def _set_aside(self, key: str, exc: DecodeError) -> None:
        """Keep a broken entry in Redis, out of the next ticks' way; others keep running."""
        retry_at = to_timestamp(self.app.now()) + defaults.BROKEN_ENTRY_RETRY
        logger.error(
            "beat: Skipping %s, which cannot be read (%s); it is kept in Redis and tried again "
            "in %d s. Fix it by saving the entry again, or delete it.",
            key, exc, defaults.BROKEN_ENTRY_RETRY,
        )  # fmt: skip
        get_redis(self.app).zadd(self.app.redbeat_conf.schedule_key, {key: retry_at})

    def _dispatch(self, entry: RedBeatSchedulerEntry) -> RedBeatSchedulerEntry | None:
        """Send the entry if due; return the entry whose run state must be written."""
        is_due, _next = entry.is_due()
        if not is_due:
            return entry  # read early (score rounded down) or stale: store its right score
        logger.info("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            result = self.apply_async(entry, producer=self.producer, advance=False)
        except Exception as exc:
            logger.error("beat: Sending %s failed: %s", entry.name, exc, exc_info=True)
        else:
            logger.debug("beat: %s sent, id %s", entry.task, getattr(result, "id", None))
        return entry.next_instance()

    def _write_run_state(self, entries: list[RedBeatSchedulerEntry]) -> None:
        if not entries:
            return
        with get_redis(self.app).pipeline(transaction=False) as pipe:
            for entry in entries:
                entry.queue_run_state(pipe)
            pipe.execute()

    def _sleep_after(self, window: DueWindow) -> float:
        if window.truncated:
            return 0  # more entries are due now
        sleep = float(self.max_interval)
        if window.next_score is not None:
            sleep = min(sleep, max(window.next_score - self.app.now().timestamp(), 0))
        if window.entries:
            sleep = min(sleep, 1.0)  # what was just rescheduled may be due again soon
        if self.lock_key:
            sleep = min(sleep, self._renew_interval())
        return sleep

    # ---- the lock ----------------------------------------------------------------------------

    def _renew_interval(self) -> float:
        return self.lock_timeout / 3

    def _standby_interval(self) -> float:
        return self.lock_timeout / 3

    def _holds_lock(self) -> bool:
        return self.lock is not None and self.lock.owned()

    def _keep_lock(self) -> bool:
        """Renew the lock if held, else try to take it; True while this beat may send."""
        if self.lock is None:
            self.lock = BeatLock(get_redis(self.app), self.lock_key, self.lock_timeout)
        held = self.lock.acquire()
        if not held:
            logger.debug("beat: Lock %s is held by another beat; standing by", self.lock_key)
        return held

    def close(self) -> None:
        if self.lock is not None and self.lock.owned():
            logger.info("beat: Releasing lock %s", self.lock_key)
            self.lock.release()
        self.lock = None
        super().close()

    @property
    def info(self) -> str:
        conf = self.app.redbeat_conf
        lines = [f"       . redis -> {maybe_sanitize_url(conf.redis_url)}"]
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
    lock = BeatLock(get_redis(scheduler.app), scheduler.lock_key, scheduler.lock_timeout)
    scheduler.lock = lock
    while not lock.acquire():
        if sender._is_shutdown.wait(scheduler._standby_interval()):
            return
    logger.info("beat: Acquired lock %s", scheduler.lock_key)
    if scheduler._statics_pending:
        scheduler.install_statics()
