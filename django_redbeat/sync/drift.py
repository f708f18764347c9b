"""Drift between the database and Redis, found and repaired (``manage.py redbeat_sync``).

The database wins for definitions: it is what people edit, with its history and validation.
Redis wins for run state (last run, run count, next due time): only beat knows it, and
rewriting a definition keeps it. Entries the database does not own (statics from beat_schedule,
entries written by other code) are never touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from django_redbeat.beat.entry import NEVER, RedBeatSchedulerEntry
from django_redbeat.decoder import dumps
from django_redbeat.exceptions import DecodeError, EntryNotFound
from django_redbeat.models import PeriodicTask
from django_redbeat.store import bulk, keys
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.sync import bridge, pauses, row_versions

#: Drift kind -> what it means; each holds entry names.
KINDS = {
    "missing": "in the database, not in Redis",
    "differing": "in Redis with another definition than the database's",
    "stale": "same definition, but its place in the schedule does not match enabled/disabled",
    "orphaned": "owned by the database in Redis, but no task has this name any more",
    "invalid": "in the database with a schedule that cannot be built (fix it in the admin)",
}


@dataclass
class Drift:
    missing: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    #: The entries to write, by name (missing, differing and stale ones).
    to_write: dict[str, RedBeatSchedulerEntry] = field(default_factory=dict, repr=False)
    #: Tasks whose entry paused itself (pauses.py), and its pause: the repair writes their rows.
    paused: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Tasks enabled since their entry's pause: the repair lifts it (and the failures in a row).
    resumed: list[str] = field(default_factory=list, repr=False)
    #: Each task's pause as its entry's ``paused`` field holds it (pauses.stored), by name.
    pauses: dict[str, str] = field(default_factory=dict, repr=False)
    #: The version of each task's row (row_versions.py), by name: written with its entry.
    versions: dict[str, str] = field(default_factory=dict, repr=False)

    def items(self) -> list[tuple[str, str]]:
        return [(kind, name) for kind in KINDS for name in getattr(self, kind)]

    def __bool__(self) -> bool:
        # a self-paused entry's row is no drift to report, but the repair has to write it
        return bool(self.items() or self.paused or self.resumed)


def find(app: Celery | None = None) -> Drift:
    """Compare every task with its entry (two round trips plus a scan for orphans)."""
    app = bridge.celery_app(app)
    drift = Drift()
    entries = _entries(app, drift)
    stored = _read(app, list(entries))
    for name, entry in entries.items():
        kind = _compare(entry, *stored[name], app=app)
        if kind:
            getattr(drift, kind).append(name)
            drift.to_write[name] = entry
    drift.orphaned = sorted(set(_managed_names(app)) - set(entries) - set(drift.invalid))
    return drift


def repair(drift: Drift, app: Celery | None = None) -> None:
    """Write what is missing, differing or stale; remove the orphans (RedisError if down)."""
    app = bridge.celery_app(app)
    pauses.disable_rows(drift.paused)
    pauses.resume(drift.resumed, app)
    bridge.save_entries(
        list(drift.to_write.values()), app, versions=drift.versions, paused=drift.pauses
    )
    if drift.orphaned:
        bridge.delete_managed(drift.orphaned, app)


def _entries(app: Celery, drift: Drift) -> dict[str, RedBeatSchedulerEntry]:
    entries = {}
    tasks = list(PeriodicTask.objects.order_by("name"))
    # an entry that paused itself is not drift: the row follows it (at the repair)
    adopted = pauses.adopt(tasks, app, write=False)
    drift.paused, drift.resumed = adopted.paused, adopted.resumed
    drift.versions = row_versions.of_tasks(tasks, app)
    drift.pauses = pauses.of_tasks(tasks)
    for task in tasks:
        try:
            entries[task.name] = bridge.entry_for(task, app)
        except (ValueError, TypeError):
            drift.invalid.append(task.name)
    return entries


def _read(app: Celery, names: list[str]) -> dict[str, tuple[Any, ...]]:
    config = ensure_conf(app)
    entry_keys = [keys.entry_key(config.key_prefix, name) for name in names]
    fields = ["definition", "meta", bridge.MANAGED_FIELD]
    stored = bulk.read_stored(get_redis(app), config.schedule_key, entry_keys, fields)
    return {name: (*values, score) for name, (values, score) in zip(names, stored, strict=True)}


def _compare(
    entry: RedBeatSchedulerEntry, definition: str | None, meta: str | None, mark: str | None,
    score: float | None, app: Celery,
) -> str | None:  # fmt: skip
    if not definition:
        return "missing"
    if mark != bridge.MANAGED_BY or not _same_json(definition, dumps(entry.definition)):
        return "differing"
    try:
        stored = RedBeatSchedulerEntry.from_stored(entry.key, definition, meta, app=app)
    except (DecodeError, EntryNotFound):
        return "differing"
    if score is None or (score == NEVER) != (stored.due_at is None):
        return "stale"
    return None


def _same_json(stored: str, wanted: str) -> bool:
    try:
        return json.loads(stored) == json.loads(wanted)
    except ValueError:
        return False


def _managed_names(app: Celery) -> list[str]:
    """Names of the entries marked as the database's: a scan of the prefix, one read each."""
    config = ensure_conf(app)
    client = get_redis(app)
    found = list(
        client.scan_iter(match=keys.prefix_pattern(config.key_prefix), _type="hash", count=1000)
    )
    with client.pipeline(transaction=False) as pipe:
        for key in found:
            pipe.hget(key, bridge.MANAGED_FIELD)
        marks = pipe.execute()
    return [
        keys.entry_name(config.key_prefix, key)
        for key, mark in zip(found, marks, strict=True)
        if mark == bridge.MANAGED_BY
    ]
