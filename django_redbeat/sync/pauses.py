"""Paused entries seen from the database, and a row's pause written to its entry.

A pause is a disabled task's who, when and why: the row's ``paused_at``, ``paused_by`` and
``paused_reason``, and its entry's ``paused`` hash field (JSON: reason, at, by), the same
whether a person disabled the task in the admin or the worker hook paused the entry after
failed runs (beat/pause.py). A sync writes the row's pause into the entry (:func:`stored`).

Redis wins for a self-pause: an entry the worker hook paused stays paused whatever syncs it from
the database (a save of another field, ``redbeat_sync``, a starting beat's rebuild): the task's
row is marked disabled too, with the pause's reason, and the entry is written disabled. A person
resumes it by enabling the task after the pause (the admin's form or its enable action): a row
changed since the pause wins, and the pause (its reason, the failures in a row) is cleared.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

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

#: A pause as the entry's ``paused`` field holds it: reason, at (ISO 8601), by.
Pause = Mapping[str, Any]


@dataclass
class Adopted:
    """What :func:`adopt` found: the pauses the rows follow (by name), and the names of the
    tasks enabled since their entry's pause (which is lifted)."""

    paused: dict[str, Pause] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)


def adopt(tasks: Iterable[PeriodicTask], app: Celery, write: bool = True) -> Adopted:
    """Disable, with the pause's reason, the enabled tasks whose entry paused itself since the
    row last changed (in memory and, with ``write``, in the database), and give a disabled task
    without a pause of its own its entry's (one paused before rows kept the reason). With
    ``write``, also clear the pause of the tasks enabled after it (else :func:`resume` does,
    given ``resumed``). One round trip to read the pauses, one more only when some must be
    cleared."""
    # a reserved name has no entry (its sync fails, and says so, on its own)
    asked = [
        task for task in tasks
        if (task.enabled or task.paused_at is None)
        and not task.name.startswith(keys.RESERVED_NAME_START)
    ]  # fmt: skip
    found = Adopted()
    if not asked:
        return found
    prefix = ensure_conf(app).key_prefix
    client = get_redis(app)
    with client.pipeline(transaction=False) as pipe:
        for task in asked:
            pipe.hget(keys.entry_key(prefix, task.name), PAUSED_FIELD)
        stored_pauses = pipe.execute()
    for task, value in zip(asked, stored_pauses, strict=True):
        pause = paused_reason(value)
        if pause is None:
            continue
        if task.enabled and _changed_since(task, pause.get("at")):
            found.resumed.append(task.name)
        else:
            found.paused[task.name] = pause
            fill(task, pause)
    if write:
        disable_rows(found.paused)
        resume(found.resumed, app)
    return found


def disable_rows(found: Mapping[str, Pause]) -> None:
    """Mark these tasks' rows disabled, with their pause (by name), as their entries are: the
    plain ``QuerySet.update``, which sends nothing (their entries are right already, no sync is
    wanted), and leaves ``date_changed`` alone (no person changed them)."""
    for name, pause in found.items():
        row = PeriodicTask(enabled=True)
        fill(row, pause)
        models.QuerySet.update(
            PeriodicTask.objects.filter(name=name), enabled=False, paused_at=row.paused_at,
            paused_by=row.paused_by, paused_reason=row.paused_reason,
        )  # fmt: skip


def fill(task: PeriodicTask, pause: Pause) -> None:
    """Disable a task in memory, with this pause (a time that cannot be read: now)."""
    task.enabled = False
    task.paused_at = _moment(pause.get("at")) or datetime.now(timezone.utc)
    task.paused_by = str(pause.get("by") or "")[:150]
    task.paused_reason = str(pause.get("reason") or "")[:500]


def stored(task: PeriodicTask) -> str:
    """The entry's ``paused`` field for a row: its pause, as beat/pause.py writes one, or ""
    (none: an enabled task, or a disabled one without a pause; the field is removed)."""
    if task.enabled or task.paused_at is None:
        return ""
    at = task.paused_at.astimezone(timezone.utc).isoformat()
    return json.dumps({"reason": task.paused_reason, "at": at, "by": task.paused_by})


def of_tasks(tasks: Iterable[PeriodicTask]) -> dict[str, str]:
    """Each task's ``paused`` field (:func:`stored`), by name."""
    return {task.name: stored(task) for task in tasks}


def resume(names: list[str], app: Celery) -> None:
    """Lift these entries' pauses: their ``paused`` field and failures in a row go."""
    if names:
        prefix = ensure_conf(app).key_prefix
        with get_redis(app).pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hdel(keys.entry_key(prefix, name), PAUSED_FIELD, CONSECUTIVE_FAILURES_FIELD)
            pipe.execute()


def _moment(at: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _changed_since(task: PeriodicTask, at: str | None) -> bool:
    moment = _moment(at)
    if moment is None:
        return True  # an unreadable pause does not hold a task
    return task.date_changed is not None and task.date_changed > moment
