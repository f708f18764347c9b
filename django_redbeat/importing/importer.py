"""CELERY_BEAT_SCHEDULE -> PeriodicTask rows, and so into Redis (``manage.py redbeat_import``).

Each entry becomes a row marked as imported (``source``) with a digest of the fields it was
given (``source_digest``). A later import compares: a row that no longer matches its digest was
edited since (in the admin, by an action, by code) and is left alone unless overwriting; a row
whose entry changed in the settings is updated; one whose entry left the settings is reported,
or pruned. Every entry is checked (``full_clean``, once for all the entries of a shape: see
:mod:`django_redbeat.importing.entry_shapes`) before anything is written; the rows are
written in one transaction (new ones by :mod:`django_redbeat.importing.bulk_insert`, changed
ones by bulk_update), and to Redis in pipelines once it commits.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import schedule as interval
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from django_redbeat import model_schedules
from django_redbeat.importing import bulk_insert, rows
from django_redbeat.importing.entry_shapes import IMPORTED_FIELDS, Shapes, digest
from django_redbeat.importing.options import option_fields
from django_redbeat.importing.rows import EntryError
from django_redbeat.models import PAUSE_FIELDS, PeriodicTask, Source
from django_redbeat.schedules import RULE_FIELDS, rrule
from django_redbeat.sync import bridge

#: The keys a beat_schedule entry may have.
ENTRY_KEYS = frozenset({"task", "schedule", "args", "kwargs", "options", "relative", "enabled"})
#: A row updated from its entry loses a pause it had (an entry the settings enable, enabled).
UPDATED_FIELDS = (*IMPORTED_FIELDS, *PAUSE_FIELDS, "source", "source_digest", "date_changed")
#: An rrule given no dtstart starts when the settings were loaded, so at every run anew: a
#: dtstart this close to now counts as that default, and the row keeps the one it has.
DEFAULT_DTSTART_WINDOW = timedelta(minutes=10)


@dataclass
class Plan:
    """What an import does. Rows in ``create``/``update`` are ready to write."""

    create: list[PeriodicTask] = field(default_factory=list)
    update: list[PeriodicTask] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: Rows left alone: edited since their import, or created outside it (name -> why).
    kept: dict[str, str] = field(default_factory=dict)
    #: Imported rows whose entry is no longer in the settings, and will be pruned.
    removed: list[PeriodicTask] = field(default_factory=list)
    #: Imported rows no longer in the settings, left alone (name -> why).
    gone: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        return len(self.create) + len(self.update) + len(self.removed)


def configured_schedule(app: Celery) -> dict[str, Any]:
    """CELERY_BEAT_SCHEDULE from the Django settings if set there, else the app's beat_schedule."""
    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", None)
    if schedule is None:
        schedule = app.conf.beat_schedule
    return dict(schedule or {})


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused. An import makes objects by the hundred thousand,
    all alive until it ends: each collection would walk them all again (a large part of an
    import's time: bench/results/profile.md); they are freed as usual once it is over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_gc_paused()
def make_plan(
    schedule: dict[str, Any],
    *,
    overwrite: bool = False,
    prune: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Plan:
    """Compare the entries with the rows; reads the database, writes nothing."""
    plan = Plan()
    names = set(map(str, schedule))
    # every row's name and source in one query: only the rows of names that exist are read
    sources = dict(PeriodicTask.objects.values_list("name", "source"))
    existing = _rows(name for name in names if name in sources)
    shapes = Shapes()
    for done, (name, spec) in enumerate(schedule.items(), 1):
        _plan_entry(plan, str(name), spec, existing.get(str(name)), overwrite, shapes)
        if progress is not None:
            progress(done, len(schedule))
    imported = {name for name, source in sources.items() if source == Source.SETTINGS}
    gone = sorted(imported - names)
    for row in _rows(gone).values():
        _plan_removal(plan, row, overwrite, prune)
    return plan


@_gc_paused()
def apply(plan: Plan) -> list[bridge.SyncFailure]:
    """Write the plan in one transaction; Redis follows on commit. Returns the sync failures."""
    with bridge.collect_failures() as failures, transaction.atomic():
        if plan.create:
            bulk_insert.insert_tasks(plan.create)
        if plan.update:
            PeriodicTask.objects.bulk_update(plan.update, UPDATED_FIELDS)
        if plan.removed:
            PeriodicTask.objects.filter(pk__in=[row.pk for row in plan.removed]).delete()
    return failures


# ---- one entry -------------------------------------------------------------------------------


def _plan_entry(
    plan: Plan,
    name: str,
    spec: Any,
    row: PeriodicTask | None,
    overwrite: bool,
    shapes: Shapes,
) -> None:
    try:
        task = build(name, spec, previous=row, shapes=shapes)
    except EntryError as exc:
        plan.errors[name] = str(exc)
        return
    if row is None:
        plan.create.append(task)
        return
    if not overwrite and (why := _why_kept(row)):
        plan.kept[name] = why
        return
    if row.source == Source.SETTINGS and digest(row) == task.source_digest:
        plan.unchanged.append(name)
        return
    task.pk, task.description, task.date_changed = row.pk, row.description, timezone.now()
    plan.update.append(task)


def _why_kept(row: PeriodicTask) -> str | None:
    if row.source != Source.SETTINGS:
        return "created in the admin or by code, not imported; --overwrite replaces it"
    if digest(row) != row.source_digest:
        return "edited since its import; --overwrite replaces it"
    return None


def _plan_removal(plan: Plan, row: PeriodicTask, overwrite: bool, prune: bool) -> None:
    if not prune:
        plan.gone[row.name] = "no longer in CELERY_BEAT_SCHEDULE; --prune removes it"
    elif digest(row) != row.source_digest and not overwrite:
        plan.gone[row.name] = "no longer in CELERY_BEAT_SCHEDULE, but edited since its import; "
        plan.gone[row.name] += "--prune --overwrite removes it"
    else:
        plan.removed.append(row)


def build(
    name: str,
    spec: Any,
    previous: PeriodicTask | None = None,
    shapes: Shapes | None = None,
) -> PeriodicTask:
    """The row a beat_schedule entry describes, checked and with its digest (EntryError).

    ``shapes``: those of the entries built so far (see rows.check), which gets this
    one's.
    """
    if not isinstance(spec, dict):
        raise EntryError(f"an entry must be a dict, not {type(spec).__name__}")
    unknown = set(spec) - ENTRY_KEYS
    if unknown:
        raise EntryError(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    if not isinstance(spec.get("task"), str) or not spec["task"]:
        raise EntryError("'task' must be the task's name")
    if "schedule" not in spec:
        raise EntryError("no 'schedule'")
    schedule = schedule_fields(spec["schedule"], bool(spec.get("relative")))
    options = option_fields(spec.get("options") or {})
    if "start_time" in options and schedule["kind"] == "rrule":
        raise EntryError("option start_time: an rrule starts at its dtstart, give it there")
    given = {
        "name": name, "task": spec["task"], "args": _json_list(spec.get("args")),
        "kwargs": spec.get("kwargs") or {}, "enabled": bool(spec.get("enabled", True)),
        "source": Source.SETTINGS, **schedule, **options,
    }  # fmt: skip
    task = rows.new_task(given)
    shape = rows.check(task, given, shapes)
    if previous is not None and _defaulted_dtstart(task, previous):
        task.start_time = previous.start_time
    model_schedules.fill_defaults(task)
    task.source_digest = digest(task) if shape is None else shapes.digest(task, shape)
    return task


def schedule_fields(schedule: Any, relative: bool = False) -> dict[str, Any]:
    """The model's schedule fields for anything beat_schedule takes (EntryError if none)."""
    if type(schedule) in (int, float, timedelta):  # most entries': the same few intervals
        return dict(_interval_fields(schedule, relative))
    return _fields_of(schedule, relative)


@functools.lru_cache(maxsize=256, typed=True)
def _interval_fields(schedule: float | timedelta, relative: bool) -> dict[str, Any]:
    return _fields_of(schedule, relative)


def _fields_of(schedule: Any, relative: bool) -> dict[str, Any]:
    if isinstance(schedule, bool):
        raise EntryError(f"schedule {schedule!r} is not a schedule")
    if isinstance(schedule, (int, float)):
        schedule = timedelta(seconds=schedule)
    if isinstance(schedule, timedelta):
        schedule = interval(schedule, relative=relative)
    if relative or getattr(schedule, "relative", False):
        raise EntryError("a 'relative' interval cannot be stored: remove 'relative'")
    if _is_redbeat_rrule(schedule):
        schedule = rrule(**{name: getattr(schedule, name) for name in RULE_FIELDS})
    try:
        return PeriodicTask.from_schedule(schedule)
    except (TypeError, ValueError) as exc:
        raise EntryError(f"schedule: {exc}") from None


# ---- helpers ---------------------------------------------------------------------------------


def _json_list(args: Any) -> Any:
    return list(args) if isinstance(args, tuple) else ([] if args is None else args)


def _is_redbeat_rrule(schedule: Any) -> bool:
    """celery-redbeat's own rrule (``redbeat.schedules.rrule``), which has the same fields."""
    kind = type(schedule)
    return kind.__name__ == "rrule" and kind.__module__.split(".")[0] == "redbeat"


def _defaulted_dtstart(task: PeriodicTask, previous: PeriodicTask) -> bool:
    if task.kind != "rrule" or previous.kind != "rrule" or previous.start_time is None:
        return False
    return abs(timezone.now() - task.start_time) <= DEFAULT_DTSTART_WINDOW


def _rows(schedule: Iterable[str]) -> dict[str, PeriodicTask]:
    names = [str(name) for name in schedule]
    chunks = bridge.filter_in_chunks(PeriodicTask.objects.all(), "name", names)
    return {row.name: row for chunk in chunks for row in chunk}
