"""Entries that paused themselves (beat/pause.py), seen from the database.

Redis wins: an entry the worker hook paused stays paused whatever syncs it from the database
(a save of another field, ``redbeat_sync``, a starting beat's rebuild): the task's row is marked
disabled too, and the entry is written disabled. A person resumes it by enabling the task after
the pause (the admin's form or its enable action): a row changed since the pause wins, and the
pause (its reason, the failures in a row) is cleared.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from celery import Celery
from django.db import models

from django_redbeat.beat.run_history import (
    CONSECUTIVE_FAILURES_FIELD,
    PAUSED_FIELD,
    paused_reason,
)
from django_redbeat.models import PeriodicTask
from django_redbeat.store import keys
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf


def adopt(tasks: Iterable[PeriodicTask], app: Celery, write: bool = True) -> list[str]:
    """Disable (in memory and, with ``write``, in the database) the enabled tasks whose entry
    paused itself since the row last changed, and return their names; with ``write``, clear the
    pause of those enabled after it. One round trip to read the pauses, one more only when
    some must be cleared."""
    # a reserved name has no entry (its sync fails, and says so, on its own)
    enabled = [t for t in tasks if t.enabled and not t.name.startswith(keys.RESERVED_NAME_START)]
    if not enabled:
        return []
    prefix = ensure_conf(app).key_prefix
    client = get_redis(app)
    with client.pipeline(transaction=False) as pipe:
        for task in enabled:
            pipe.hget(keys.entry_key(prefix, task.name), PAUSED_FIELD)
        stored = pipe.execute()
    paused, resumed = [], []
    for task, value in zip(enabled, stored, strict=True):
        pause = paused_reason(value)
        if pause is None:
            continue
        (resumed if _changed_since(task, pause.get("at")) else paused).append(task)
    for task in paused:
        task.enabled = False
    if not write:
        return [task.name for task in paused]
    # the plain QuerySet.update: the rows are being synced already, no second sync is wanted
    disable_rows([task.name for task in paused])
    if resumed:
        with client.pipeline(transaction=False) as pipe:
            for task in resumed:
                pipe.hdel(
                    keys.entry_key(prefix, task.name), PAUSED_FIELD, CONSECUTIVE_FAILURES_FIELD
                )
            pipe.execute()
    return [task.name for task in paused]


def disable_rows(names: list[str]) -> None:
    """Mark these tasks' rows disabled, as their entries are: the plain ``QuerySet.update``,
    which sends nothing (their entries are right already, no sync is wanted), and leaves
    ``date_changed`` alone (no person changed them)."""
    if names:
        models.QuerySet.update(PeriodicTask.objects.filter(name__in=names), enabled=False)


def _changed_since(task: PeriodicTask, at: str | None) -> bool:
    try:
        moment = datetime.fromisoformat(at or "")
    except ValueError:
        return True  # an unreadable pause does not hold a task
    return task.date_changed is not None and task.date_changed > moment
