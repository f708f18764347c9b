"""The due window: the entries a tick sends, read without touching the others.

One script call reads the due keys (at most ``limit``) and the next due time, one more reads the
due entries' hashes. An entry that cannot be read is logged, kept and tried again
later; a schedule member without its hash is removed.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from celery import Celery

from django_redbeat import defaults
from django_redbeat.beat.entry import RedBeatSchedulerEntry as Entry
from django_redbeat.decoder import to_timestamp
from django_redbeat.exceptions import DecodeError, EntryNotFound
from django_redbeat.signals import runs_skipped
from django_redbeat.store import keys
from django_redbeat.store.connection import get_redis

logger = logging.getLogger("celery.beat")


#: KEYS[1] the schedule key; ARGV[1] now (UNIX seconds), ARGV[2] how many due keys to read at
#: most. Returns the due keys and the next one after now, each as a flat list of key, score.
READ_WINDOW = """
local now = ARGV[1]
return {
    redis.call('ZRANGEBYSCORE', KEYS[1], 0, now, 'WITHSCORES', 'LIMIT', 0, ARGV[2]),
    redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
}
"""

#: KEYS: the due entry keys. Returns one flat list: each one's definition, meta and run
#: policy, in turn (nil where missing). Flat, not a list per entry: redis-py parses a nested
#: reply more slowly.
READ_ENTRIES = """
local stored = {}
for i, key in ipairs(KEYS) do
    local fields = redis.call('HMGET', key, 'definition', 'meta', 'policy')
    stored[3 * i - 2] = fields[1]
    stored[3 * i - 1] = fields[2]
    stored[3 * i] = fields[3]
end
return stored
"""


@dataclass
class Due:
    entry: Entry
    slot: int  # the score read: the scheduled time, UNIX seconds
    stored_meta: str  # the run state as read: what a failed send puts back


@dataclass
class DueWindow:
    """What one tick read: the due entries, whether more were left, the next due time."""

    due: list[Due] = field(default_factory=list)
    truncated: bool = False
    next_score: float | None = None
    next_key: str | None = None


def read_due_window(app: Celery, entry_class: type[Entry], limit: int) -> DueWindow:
    """What is due now: at most ``limit`` entries, whether more were left, the next due time."""
    # one script, not a pipeline of two reads: an idle tick is just this call
    read = get_redis(app).register_script(READ_WINDOW)
    due, upcoming = read(
        keys=[app.redbeat_conf.schedule_key], args=[to_timestamp(app.now()), limit + 1]
    )
    window = DueWindow(truncated=len(due) > 2 * limit)
    if upcoming:
        window.next_key, window.next_score = upcoming[0], float(upcoming[1])
    slots = dict(zip(due[: 2 * limit : 2], map(float, due[1 : 2 * limit : 2]), strict=True))
    window.due = load_due(app, entry_class, slots, app.now())
    return window


def schedule_view(
    app: Celery, entry_class: type[Entry], limit: int, horizon: float
) -> dict[str, Entry]:
    """The due entries and the next one if due within ``horizon`` seconds, by name (what a
    tick does not need: it sleeps until the next score without reading that entry)."""
    window = read_due_window(app, entry_class, limit)
    due = [item.entry for item in window.due]
    now = to_timestamp(app.now())
    if window.next_key and window.next_score is not None and window.next_score <= now + horizon:
        upcoming = load_due(app, entry_class, {window.next_key: window.next_score}, app.now())
        due += [item.entry for item in upcoming]
    return {entry.name: entry for entry in due}


def load_due(
    app: Celery, entry_class: type[Entry], slots: dict[str, float], now: datetime
) -> list[Due]:
    """Read the due entries in one round trip; skip (and keep) those that cannot be read.
    Their schedules see ``now`` (a standby passes Redis's time, a tick beat's own)."""
    if not slots:
        return []
    # a script, not a pipeline of HMGETs: the same round trip at half the client's work per
    # entry (redis-py handles one command, not one per entry)
    read = get_redis(app).register_script(READ_ENTRIES)
    flat = read(keys=list(slots))
    stored = zip(flat[::3], flat[1::3], flat[2::3], strict=True)
    loaded = []
    # one clock per tick: reading the app's clock costs more than the rest of an entry's
    # scheduling, and a tick is short
    same_now = functools.partial(_same_time, now)
    for (key, slot), (definition, meta, policy) in zip(slots.items(), stored, strict=True):
        try:
            entry = entry_class.from_stored(key, definition, meta, app=app, policy=policy)
        except EntryNotFound:
            _drop_dangling(app, key)
        except DecodeError as exc:
            _set_aside(app, key, exc)
        else:
            entry.schedule.nowfun = same_now
            loaded.append(Due(entry, int(slot), meta or ""))
    return loaded


def rescore(app: Celery, items: list[Due]) -> None:
    """Entries read before their time (score rounded down, or stale): store the right one."""
    scores = ((item.entry.key, item.entry.score, item.slot) for item in items)
    wrong = {key: score for key, score, slot in scores if score != slot}
    if wrong:
        get_redis(app).zadd(app.redbeat_conf.schedule_key, wrong)


def _drop_dangling(app: Celery, key: str) -> None:
    logger.error("beat: %s is in the schedule but has no definition; removing it", key)
    get_redis(app).zrem(app.redbeat_conf.schedule_key, key)


def _set_aside(app: Celery, key: str, exc: DecodeError) -> None:
    """Keep a broken entry in Redis, out of the next ticks' way; others keep running."""
    retry_at = to_timestamp(app.now()) + defaults.BROKEN_ENTRY_RETRY
    logger.error(
        "beat: Skipping %s, which cannot be read (%s); it is kept in Redis and tried again "
        "in %d s. Fix it by saving the entry again, or delete it.",
        key, exc, defaults.BROKEN_ENTRY_RETRY,
    )  # fmt: skip
    get_redis(app).zadd(app.redbeat_conf.schedule_key, {key: retry_at})
    name = keys.entry_name(app.redbeat_conf.key_prefix, key)
    runs_skipped.send(sender=app, entries=[name], reason="unreadable")


def _same_time(moment: datetime) -> datetime:
    return moment
