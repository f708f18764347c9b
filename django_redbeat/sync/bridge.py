"""PeriodicTask rows -> entries in Redis: the only bridge between the models and beat.

Entries are written through :class:`RedBeatSchedulerEntry`, so the wire format is the engine's,
and each one the database owns is marked with a hash field (``MANAGED_FIELD``) beside
``definition`` and ``meta``, and with the version of the row it was written from
(``VERSION_FIELD``, see versions.py). Both live and die with the entry (no second key to drift),
and celery-redbeat ignores them. A starting beat writes only the entries not at their row's
version (:func:`rebuild`), however the row changed (a save, ``QuerySet.update()``, raw SQL, a
sync that failed). A write that fails (Redis down) leaves the database as it is: it is logged,
reported to whoever collects failures (the admin), and repaired by ``redbeat_sync``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery
from django.db import transaction
from django.db.models import QuerySet
from redis.exceptions import RedisError

from django_redbeat.beat.entry import NEVER, RedBeatSchedulerEntry
from django_redbeat.beat.run_history import PAUSED_FIELD
from django_redbeat.conf import conf
from django_redbeat.decoder import from_timestamp
from django_redbeat.exceptions import DecodeError, RedBeatError
from django_redbeat.models import PeriodicTask
from django_redbeat.schedules import oneoff
from django_redbeat.store import bulk, keys
from django_redbeat.store.connection import brief_retries, get_redis
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.sync import pauses
from django_redbeat.sync import row_versions as row_versions
from django_redbeat.sync.row_versions import MANAGED_BY, MANAGED_FIELD, VERSION_FIELD

logger = logging.getLogger(__name__)

#: Names or pks per query when many rows are read by them (SQLite limits a query's parameters).
QUERY_CHUNK = 500

#: Errors that leave a task unsynced (logged and reported) instead of failing the save.
SYNC_ERRORS = (RedisError, RedBeatError)


@dataclass(frozen=True)
class SyncFailure:
    name: str
    reason: str


@dataclass(frozen=True)
class RunState:
    """What Redis says about an entry's runs (``in_redis`` False: no entry)."""

    in_redis: bool
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    total_run_count: int = 0


_collector: ContextVar[list[SyncFailure] | None] = ContextVar("redbeat_failures", default=None)


@contextmanager
def collect_failures() -> Iterator[list[SyncFailure]]:
    """Gather the sync failures of the block, including after-commit ones, to show a user."""
    found: list[SyncFailure] = []
    token = _collector.set(found)
    try:
        yield found
    finally:
        _collector.reset(token)


def celery_app(app: Celery | None = None) -> Celery:
    return app or conf.celery_app()


def entry_for(
    task: PeriodicTask, app: Celery, now: datetime | None = None
) -> RedBeatSchedulerEntry:
    """The entry a task describes (not stored; ValueError if its schedule is invalid).

    As a new entry, it counts as last run ``now`` (default: the app's clock; given once for a
    batch, as reading the clock costs as much as the rest), a one-off as never run. Its run
    policy is the row's policy fields' (model_policies.py).
    """
    schedule = task.schedule
    return RedBeatSchedulerEntry(
        name=task.name, task=task.task, schedule=schedule, args=task.args,
        kwargs=task.kwargs, enabled=task.enabled, options=task.options, app=app,
        last_run_at=None if isinstance(schedule, oneoff) else now, policy=task.run_policy,
    )  # fmt: skip


def sync_after_commit(names: Iterable[str], using: str | None = None) -> None:
    """Sync these names once the current transaction commits (at once outside one)."""
    names = set(names)
    transaction.on_commit(lambda: sync_names(names), using=using)


def sync_tasks_after_commit(tasks: list[PeriodicTask], using: str | None = None) -> None:
    """Write these rows, as they are, once the current transaction commits."""
    transaction.on_commit(lambda: sync_tasks(tasks), using=using)


def sync_names(names: Iterable[str], app: Celery | None = None) -> list[SyncFailure]:
    """Make Redis match the database for these names: write the tasks that exist, remove the
    database's entries of names no row has any more (a rename, a delete)."""
    names = set(names)
    tasks = list(PeriodicTask.objects.filter(name__in=names))
    gone = names - {task.name for task in tasks}
    return sync_tasks(tasks, app) + remove_names(gone, app)


def sync_tasks(
    tasks: Iterable[PeriodicTask], app: Celery | None = None, only_changed: bool = False
) -> list[SyncFailure]:
    """Write these tasks' entries (with ``only_changed``, those Redis lacks or holds
    differently); the run state already in Redis is kept."""
    app = celery_app(app)
    tasks = list(tasks)
    failures = _guarded([task.name for task in tasks], lambda: pauses.adopt(tasks, app), app)
    if failures:
        return _report(failures)
    versions, paused = row_versions.of_tasks(tasks, app), pauses.of_tasks(tasks)
    entries, failures = _entries(tasks, app)
    failures += _guarded(
        [entry.name for entry in entries],
        lambda: save_entries(entries, app, only_changed, versions=versions, paused=paused),
        app,
    )
    return _report(failures)


def rebuild(app: Celery | None = None) -> list[SyncFailure]:
    """Write every task's entry that Redis lacks, holds at another version, or that is out of
    the schedule or not the database's (what a flushed Redis lost comes back; run state is
    kept). An unchanged task costs a row read, a digest and its share of one script call per
    chunk of entries (versions.stale): no entry is built, none written."""
    app = celery_app(app)
    rows = list(PeriodicTask.objects.values_list("pk", *row_versions.ENTRY_FIELDS))
    stale: list[int] = []
    names = [row[1] for row in rows]
    failures = _guarded(names, lambda: stale.extend(row_versions.stale(rows, app)), app)
    if failures:
        return _report(failures)
    return sync_tasks(_tasks_by_pk(stale), app, only_changed=True)


def reset_run_state(tasks: Iterable[PeriodicTask], app: Celery | None = None) -> list[SyncFailure]:
    """Write these tasks' entries with the run state of new ones (count 0, timed from now)."""
    app = celery_app(app)
    tasks = list(tasks)
    versions = row_versions.of_tasks(tasks, app)
    entries, failures = _entries(tasks, app)

    def write() -> None:
        save_entries(entries, app, versions=versions)
        with get_redis(app).pipeline(transaction=False) as pipe:
            for entry in entries:
                # a new entry's run state: never counted, timed from now
                RedBeatSchedulerEntry(**entry.definition, app=app).queue_run_state(pipe)
            pipe.execute()

    failures += _guarded([entry.name for entry in entries], write, app)
    return _report(failures)


def remove_names(names: Iterable[str], app: Celery | None = None) -> list[SyncFailure]:
    """Delete the entries of these names that the database owns (statics are left alone)."""
    names = sorted(names)
    if not names:
        return []
    app = celery_app(app)
    return _report(_guarded(names, lambda: delete_managed(names, app), app))


def save_entries(
    entries: list[RedBeatSchedulerEntry],
    app: Celery,
    only_changed: bool = False,
    versions: Mapping[str, str] | None = None,
    paused: Mapping[str, str] | None = None,
) -> None:
    """Write entries marked as the database's, each with its row's version (by name; "" where
    not given, which a starting beat writes again) and, if ``paused`` is given, its row's pause
    (by name, pauses.stored: "" removes one). Run state already in Redis is kept;
    ``only_changed`` skips entries stored alike."""
    if not entries:
        return
    versions = versions or {}

    def marks(entry: RedBeatSchedulerEntry, definition: str) -> dict[str, str]:
        version = versions.get(entry.name, row_versions.UNKNOWN)
        fields = {
            MANAGED_FIELD: MANAGED_BY,
            VERSION_FIELD: row_versions.stamp(version, definition),
        }
        if paused is not None:
            fields[PAUSED_FIELD] = paused.get(entry.name, "")
        return fields

    RedBeatSchedulerEntry.save_many(
        entries, app=app, extra_fields=marks, only_changed=only_changed
    )


def delete_managed(names: list[str], app: Celery) -> None:
    config = ensure_conf(app)
    entry_keys = [keys.entry_key(config.key_prefix, name) for name in names]
    client = get_redis(app)
    with client.pipeline(transaction=False) as pipe:
        for key in entry_keys:
            pipe.hget(key, MANAGED_FIELD)
        marks = pipe.execute()
    with client.pipeline(transaction=False) as pipe:
        for name, key, mark in zip(names, entry_keys, marks, strict=True):
            if mark == MANAGED_BY:
                pipe.zrem(config.schedule_key, key)
                for owned in keys.owned_by_entry(config.key_prefix, name):
                    pipe.delete(owned)  # one key per DEL: a Cluster pipeline takes no more
        pipe.execute()


def read_run_states(names: list[str], app: Celery | None = None) -> dict[str, RunState]:
    """The run state of each named entry, read in one round trip (RedisError if down)."""
    app = celery_app(app)
    config = ensure_conf(app)
    entry_keys = [keys.entry_key(config.key_prefix, name) for name in names]
    stored = bulk.read_stored(get_redis(app), config.schedule_key, entry_keys, ["meta"])
    return {
        name: _run_state(meta, score) for name, ([meta], score) in zip(names, stored, strict=True)
    }


def _run_state(meta: str | None, score: float | None) -> RunState:
    if meta is None and score is None:
        return RunState(in_redis=False)
    try:
        run = RedBeatSchedulerEntry.decode_meta(meta)
    except DecodeError:
        run = {}
    due = None if score is None or score == NEVER else from_timestamp(score)
    return RunState(True, due, run.get("last_run_at"), run.get("total_run_count") or 0)


def filter_in_chunks(queryset: QuerySet, field: str, values: list[Any]) -> Iterator[QuerySet]:
    """``queryset`` filtered by ``<field>__in``, once per QUERY_CHUNK of ``values``."""
    for start in range(0, len(values), QUERY_CHUNK):
        yield queryset.filter(**{f"{field}__in": values[start : start + QUERY_CHUNK]})


def _tasks_by_pk(pks: list[int]) -> Iterator[PeriodicTask]:
    for tasks in filter_in_chunks(PeriodicTask.objects.all(), "pk", pks):
        yield from tasks


def _entries(
    tasks: Iterable[PeriodicTask], app: Celery
) -> tuple[list[RedBeatSchedulerEntry], list[SyncFailure]]:
    entries, failures = [], []
    now = app.now()
    for task in tasks:
        try:
            entries.append(entry_for(task, app, now))
        except (ValueError, TypeError) as exc:  # a row saved without validation
            failures.append(SyncFailure(task.name, f"invalid schedule: {exc}"))
    return entries, failures


def _guarded(names: list[str], write: Callable[[], None], app: Celery) -> list[SyncFailure]:
    try:
        with brief_retries(app):
            write()
    except SYNC_ERRORS as exc:
        return [SyncFailure(name, f"{type(exc).__name__}: {exc}") for name in names]
    return []


def _report(failures: list[SyncFailure]) -> list[SyncFailure]:
    collected = _collector.get()
    for failure in failures:
        logger.error(
            "Redis is out of step with the database for periodic task %r (%s); "
            "`manage.py redbeat_sync --repair` will fix it.",
            failure.name, failure.reason,
        )  # fmt: skip
        if collected is not None:
            collected.append(failure)
    return failures
