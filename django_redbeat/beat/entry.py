"""RedBeatSchedulerEntry: one schedule entry stored in Redis.

Layout: the hash ``<prefix><name>`` holds ``definition`` (what to run and
when), ``meta`` (run state: last_run_at, total_run_count) and, only when not the default, the
run policy (run_policy.py); the sorted set ``<prefix>:schedule`` holds the entry's next due time
as its score (-1: it will not fire again, or it is disabled).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from celery import Celery
from celery.beat import ScheduleEntry
from celery.schedules import schedstate

from django_redbeat.beat import due_times, stored_fields
from django_redbeat.beat.run_policy import POLICY_FIELD, RunPolicy
from django_redbeat.decoder import dumps, to_timestamp
from django_redbeat.exceptions import DecodeError, EntryNotFound
from django_redbeat.schedules import oneoff
from django_redbeat.store import bulk, keys
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf

logger = logging.getLogger("celery.beat")

NEVER = -1  # the score of an entry that will not fire (finished or disabled)
#: Extra hash fields save_many writes: the same for every entry, or a function of the entry and
#: its definition as encoded.
ExtraFields = dict[str, str] | Callable[[Any, str], dict[str, str]]


class RedBeatSchedulerEntry(ScheduleEntry):
    def __init__(
        self,
        name: str | None = None,
        task: str | None = None,
        schedule: Any = None,
        args: Any = None,
        kwargs: dict[str, Any] | None = None,
        enabled: bool = True,
        options: dict[str, Any] | None = None,
        last_run_at: datetime | None = None,
        total_run_count: int | None = None,
        policy: RunPolicy | None = None,
        **clsargs: Any,
    ) -> None:
        # policies may come in the options (beat_schedule): they are not apply_async's
        named_policy, options = RunPolicy.split_options(options)
        self.policy = named_policy if policy is None else policy
        super().__init__(
            name=keys.validate_entry_name(str(name)),
            task=task,
            schedule=schedule,
            args=args,  # as given, None included: celery-redbeat stores it so
            kwargs=kwargs,
            options=options,
            last_run_at=last_run_at,
            total_run_count=total_run_count,
            **clsargs,
        )
        if last_run_at is None and isinstance(self.schedule, oneoff):
            self.last_run_at = None  # not run yet, even if its time has passed
        self.enabled = bool(enabled)
        ensure_conf(self.app)

    # ---- where it lives ----------------------------------------------------------------------

    @staticmethod
    def generate_key(app: Celery, name: str) -> str:
        return keys.entry_key(ensure_conf(app).key_prefix, name)

    @property
    def key(self) -> str:
        return self.generate_key(app=self.app, name=self.name)

    @property
    def rank(self) -> int | None:
        return get_redis(self.app).zrank(self.app.redbeat_conf.schedule_key, self.key)

    # ---- when it runs ------------------------------------------------------------------------

    @property
    def due_at(self) -> datetime | None:
        """When it is next due: never before now; None when disabled or finished."""
        return self.due_at_from(self.default_now())

    def due_at_from(self, now: datetime) -> datetime | None:
        """When it is next due, seen at ``now``: never before it; None when disabled or
        finished."""
        return due_times.due_at(self, now)

    @property
    def score(self) -> int:
        """The due time as whole UNIX seconds (rounded down, so never late); -1 for never."""
        return self.score_at(self.default_now())

    def score_at(self, now: datetime) -> int:
        """The score seen at ``now``."""
        due_at = self.due_at_from(now)
        return NEVER if due_at is None else to_timestamp(due_at)

    def is_due(self) -> schedstate:
        return due_times.is_due(self)

    # ---- what is stored ----------------------------------------------------------------------

    @property
    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "args": self.args,
            "kwargs": self.kwargs,
            "options": self.options,
            "schedule": self.schedule,
            "enabled": self.enabled,
        }

    @property
    def meta(self) -> dict[str, Any]:
        return {"last_run_at": self.last_run_at, "total_run_count": self.total_run_count}

    def save(self) -> RedBeatSchedulerEntry:
        """Store the definition; run state already in Redis is kept (and used for the score)."""
        self.save_many([self], app=self.app)
        return self

    @classmethod
    def save_many(
        cls,
        entries: Iterable[RedBeatSchedulerEntry],
        app: Celery,
        extra_fields: ExtraFields | None = None,
        only_changed: bool = False,
    ) -> int:
        """Save entries in two round trips: read what is stored, then write; return how many
        were written.

        Run state already in Redis is kept (and gives the score). ``extra_fields`` are written
        into each hash too (fields celery-redbeat never reads): the same for every entry, or
        a function of the entry and its encoded definition. With ``only_changed``, an entry
        stored with the same fields and the score its run state gives is not written again.
        """
        entries = list(entries)
        if not entries:
            return 0
        client = get_redis(app)
        conf = ensure_conf(app)
        # encode everything first: a value that is not JSON fails before any write
        new_fields = [_fields(entry, extra_fields) for entry in entries]
        names = list(new_fields[0])
        keys_ = [entry.key for entry in entries]
        # the stored fields are compared only to skip unchanged entries: else the meta will do
        read = ["meta", *names] if only_changed else ["meta"]
        stored = bulk.read_stored(client, conf.schedule_key, keys_, read)
        now = app.now()  # one clock for the batch: reading it costs as much as a score
        new_meta = bulk.NewMeta()
        rows = []
        for entry, key, fields, (values, old_score) in zip(
            entries, keys_, new_fields, stored, strict=True
        ):
            entry._adopt_meta(values[0])
            score = due_times.kept_score(entry, entry.score_at(now), old_score, now)
            stored_fields = [value or "" for value in values[1:]]  # "": a field not written
            if only_changed and stored_fields == list(fields.values()) and old_score == score:
                continue
            # written only if it has none
            rows.append((key, list(fields.values()), new_meta[entry.last_run_at], score))
        if rows:
            bulk.write(client, conf, names, rows)
        return len(rows)

    def _adopt_meta(self, stored: str | None) -> None:
        if not stored:
            return
        try:
            meta = self.decode_meta(stored)
        except DecodeError as exc:
            logger.warning("beat: %s has unreadable run state, kept as it is: %s", self.key, exc)
            return
        self.last_run_at = meta.get("last_run_at")
        self.total_run_count = meta.get("total_run_count") or 0

    def delete(self) -> None:
        with get_redis(self.app).pipeline() as pipe:
            pipe.zrem(self.app.redbeat_conf.schedule_key, self.key)
            for key in keys.owned_by_entry(self.app.redbeat_conf.key_prefix, self.name):
                pipe.delete(key)  # one key per DEL: a Cluster pipeline takes no more
            pipe.execute()

    def queue_run_state(self, pipe: Any) -> None:
        """Queue the writes of this entry's run state and score on a pipeline."""
        pipe.hset(self.key, "meta", dumps(self.meta))
        pipe.zadd(self.app.redbeat_conf.schedule_key, {self.key: self.score})

    def _write_run_state(self) -> None:
        with get_redis(self.app).pipeline() as pipe:
            self.queue_run_state(pipe)
            pipe.execute()

    def reschedule(self, last_run_at: datetime | None = None) -> None:
        """Count the next interval from ``last_run_at`` (default now); the run count is kept."""
        self.last_run_at = last_run_at or self.default_now()
        self._write_run_state()

    def next_instance(self, last_run_at: datetime | None = None) -> RedBeatSchedulerEntry:
        """The entry after one more run (not stored)."""
        after = object.__new__(type(self))  # a copy, not a new construction: beat's hot path
        after.__dict__.update(self.__dict__)
        after.last_run_at = last_run_at or self.default_now()
        after.total_run_count = self.total_run_count + 1
        return after

    def _next_instance(
        self, last_run_at: datetime | None = None, only_update_last_run_at: bool = False
    ) -> RedBeatSchedulerEntry:
        entry = self.next_instance(last_run_at)
        if only_update_last_run_at:
            entry.total_run_count = self.total_run_count
        entry._write_run_state()
        return entry

    __next__ = next = _next_instance

    # ---- reading -----------------------------------------------------------------------------

    @classmethod
    def from_key(cls, key: str, app: Celery | None = None) -> RedBeatSchedulerEntry:
        definition, meta, policy = get_redis(app).hmget(key, "definition", "meta", POLICY_FIELD)
        return cls.from_stored(key, definition, meta, app=app, policy=policy)

    @classmethod
    def from_stored(
        cls,
        key: str,
        definition: str | None,
        meta: str | None,
        app: Celery | None = None,
        policy: str | None = None,
    ) -> RedBeatSchedulerEntry:
        """Build an entry from its hash fields; EntryNotFound or DecodeError names the key."""
        if not definition:
            raise EntryNotFound(key)
        try:
            fields = cls.decode_definition(definition)
            run_state = cls.decode_meta(meta)
            entry = cls(
                **fields,
                last_run_at=run_state.get("last_run_at"),
                total_run_count=run_state.get("total_run_count"),
                policy=RunPolicy.decode(policy),
                app=app,
            )
        except DecodeError as exc:
            raise DecodeError(str(exc), key=key) from exc
        except (TypeError, ValueError) as exc:
            raise DecodeError(f"invalid definition: {exc}", key=key) from exc
        # a stored null means "never run": keep it, where the constructor would put now
        entry.last_run_at = run_state.get("last_run_at")
        return entry

    @staticmethod
    def load_definition(
        key: str, app: Celery | None = None, definition: str | None = None
    ) -> dict[str, Any]:
        if definition is None:
            definition = get_redis(app).hget(key, "definition")
        if not definition:
            raise EntryNotFound(key)
        return RedBeatSchedulerEntry.decode_definition(definition)

    decode_definition = staticmethod(stored_fields.decode_definition)
    decode_meta = staticmethod(stored_fields.decode_meta)

    @staticmethod
    def load_meta(key: str, app: Celery | None = None) -> dict[str, Any]:
        return stored_fields.decode_meta(get_redis(app).hget(key, "meta"))

    def __repr__(self) -> str:
        state = "" if self.enabled else " disabled"
        return f"<RedBeatSchedulerEntry: {self.name} {self.task} {self.schedule!r}{state}>"


def _fields(entry: RedBeatSchedulerEntry, extra_fields: ExtraFields | None) -> dict[str, str]:
    """The hash fields save_many writes for an entry: its definition, its policy ("" for the
    default: the field is removed, never written), then the extra ones."""
    definition = dumps(entry.definition)
    extra = extra_fields(entry, definition) if callable(extra_fields) else extra_fields
    return {"definition": definition, POLICY_FIELD: entry.policy.encode() or "", **(extra or {})}
