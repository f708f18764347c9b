"""Static entries: those beat installs from ``beat_schedule``, named in the ``:statics`` set.

The set lets a starting beat delete the entries that left ``beat_schedule`` since the last start,
and leave alone every entry that never came from it (the database's, other code's).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.beat import Scheduler

from django_redbeat.store import keys
from django_redbeat.store.connection import get_redis

logger = logging.getLogger("celery.beat")


def entries(scheduler: Scheduler, schedule: dict[str, Any]) -> list[Any]:
    """The entries of a beat_schedule-style dict; one that cannot be made is logged and left
    out, and the others are kept."""
    made = []
    for name, value in schedule.items():
        try:
            made.append(scheduler._maybe_entry(name, value))
        except Exception as exc:  # one bad entry must not stop the others
            logger.error("beat: Cannot add entry %r: %s. Contents: %r", name, exc, value)
    return made


def prune(app: Celery, current: set[str]) -> None:
    """Delete the entries that came from beat_schedule and are no longer in it."""
    conf = app.redbeat_conf
    client = get_redis(app)
    stored = set(client.smembers(conf.statics_key))
    if stored == current:
        return  # a restart with the same statics writes nothing
    removed = stored - current
    with client.pipeline() as pipe:
        for name in removed:
            pipe.zrem(conf.schedule_key, keys.entry_key(conf.key_prefix, name))
            for key in keys.owned_by_entry(conf.key_prefix, name):
                pipe.delete(key)  # one key per DEL: a Cluster pipeline takes no more
        pipe.delete(conf.statics_key)
        if current:
            pipe.sadd(conf.statics_key, *current)
        pipe.execute()
    for name in sorted(removed):
        logger.info("beat: Removed static entry %r (no longer in beat_schedule)", name)
