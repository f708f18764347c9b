"""Run state brought in from elsewhere: the last run and run count that a task copied from
django-celery-beat had there (``redbeat_import --from-django-celery-beat``).

Run state lives in Redis, not in the rows, so it is written into the entries once the rows have
committed and their entries are written: as each entry's ``meta``, with the score that it gives
(so a task does not run again early, and its count goes on). An entry that has run state of its
own as recent (it ran here since, or was reset here) keeps it: importing again writes nothing,
and never moves an entry back to an older run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery
from django.db import transaction

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.beat.run_policy import POLICY_FIELD
from django_redbeat.exceptions import DecodeError, EntryNotFound
from django_redbeat.store import bulk, keys
from django_redbeat.store.connection import brief_retries, get_redis
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.sync.bridge import SYNC_ERRORS, SyncFailure, celery_app
from django_redbeat.sync.row_versions import MANAGED_BY, MANAGED_FIELD

logger = logging.getLogger(__name__)

#: The hash fields read to rebuild an entry and tell whose it is.
_READ = ["definition", "meta", POLICY_FIELD, MANAGED_FIELD]


@dataclass(frozen=True)
class CarriedRun:
    last_run_at: datetime | None
    total_run_count: int = 0

    @property
    def empty(self) -> bool:
        return self.last_run_at is None and not self.total_run_count


def carry_after_commit(
    runs: Mapping[str, CarriedRun],
    carried: list[str],
    failures: list[SyncFailure],
    app: Celery | None = None,
    using: str | None = None,
) -> None:
    """Once the current transaction commits, carry these runs (by task name) into their
    entries; ``carried`` and ``failures`` get the names written and what failed."""
    runs = {name: run for name, run in runs.items() if not run.empty}
    if not runs:
        return

    def write() -> None:
        done, failed = carry(runs, app)
        carried.extend(done)
        failures.extend(failed)

    transaction.on_commit(write, using=using)


def carry(
    runs: Mapping[str, CarriedRun], app: Celery | None = None
) -> tuple[list[str], list[SyncFailure]]:
    """Write each run into its entry where the entry has no run state of its own as recent;
    return the names written and the failures (an entry missing, Redis down)."""
    app = celery_app(app)
    names = sorted(runs)
    try:
        with brief_retries(app):
            done, failed = _write(names, runs, app)
    except SYNC_ERRORS as exc:
        failed = [SyncFailure(name, f"{type(exc).__name__}: {exc}") for name in names]
        done = []
    for failure in failed:
        logger.error(
            "The last run of periodic task %r was not carried into Redis (%s); importing "
            "again carries it.", failure.name, failure.reason,
        )  # fmt: skip
    return done, failed


def _write(
    names: list[str], runs: Mapping[str, CarriedRun], app: Celery
) -> tuple[list[str], list[SyncFailure]]:
    config = ensure_conf(app)
    client = get_redis(app)
    entry_keys = [keys.entry_key(config.key_prefix, name) for name in names]
    stored = bulk.read_stored(client, config.schedule_key, entry_keys, _READ)
    done, failed = [], []
    with client.pipeline(transaction=False) as pipe:
        for name, key, (values, _score) in zip(names, entry_keys, stored, strict=True):
            try:
                entry = _carried(key, values, runs[name], app)
            except (DecodeError, EntryNotFound) as exc:
                failed.append(SyncFailure(name, f"its entry cannot be read: {exc}"))
                continue
            if entry is not None:
                entry.queue_run_state(pipe)
                done.append(name)
        pipe.execute()
    if done:  # a sleeping beat wakes to the new due times
        client.publish(keys.wakeup_channel(config.key_prefix), keys.WAKEUP_MESSAGE)
    return done, failed


def _carried(
    key: str, values: list[Any], run: CarriedRun, app: Celery
) -> RedBeatSchedulerEntry | None:
    """The entry with the run carried into it; None if its own run state is as recent."""
    definition, meta, policy, mark = values
    if mark != MANAGED_BY:
        raise EntryNotFound(f"{key} (no entry of the database's in Redis)")
    entry = RedBeatSchedulerEntry.from_stored(key, definition, meta, app=app, policy=policy)
    own = RedBeatSchedulerEntry.decode_meta(meta)
    # a new entry's meta has no count: it has not run here, and takes the run brought in
    if "total_run_count" in own and _as_recent(own.get("last_run_at"), run.last_run_at):
        return None
    if run.last_run_at is not None:
        entry.last_run_at = run.last_run_at
    entry.total_run_count = run.total_run_count
    return entry


def _as_recent(own: datetime | None, brought: datetime | None) -> bool:
    if brought is None:
        return True
    return own is not None and own >= brought
