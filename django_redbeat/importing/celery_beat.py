"""django-celery-beat's periodic tasks -> ours, and so into Redis (``redbeat_import
--from-django-celery-beat``).

As with CELERY_BEAT_SCHEDULE (importer.py), each task copied records where it came from
(``source``) and a digest of what was copied (``source_digest``, the description included): a
second import changes nothing, a row changed in django-celery-beat since is updated, and a task
edited here since, or made here under the same name, is left alone unless overwriting. Every
row is checked before anything is written; the tasks are written in one transaction and reach
Redis after it commits, followed by the run state each row had (sync/run_states.py).

Skipped, and said why: Celery's own ``celery.backend_cleanup`` (beat installs it itself), and
the rows of CELERY_BEAT_SCHEDULE entries, which django-celery-beat copies into its tables at
every start: plain ``redbeat_import`` imports those from the settings, and this one then
carries their run state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from django.db import transaction
from django.utils import timezone

from django_redbeat import model_schedules
from django_redbeat.beat.run_policy import PolicyError
from django_redbeat.importing import bulk_insert, celery_beat_rows, importer, rows
from django_redbeat.importing.celery_beat_rows import CeleryBeatRow
from django_redbeat.importing.entry_shapes import digest
from django_redbeat.importing.rows import EntryError
from django_redbeat.models import PeriodicTask, Source
from django_redbeat.sync import bridge
from django_redbeat.sync.run_states import CarriedRun, carry_after_commit

ORIGIN = "django-celery-beat"
#: Celery's default entry, which beat installs by itself when the result backend needs it.
BACKEND_CLEANUP = "celery.backend_cleanup"
UPDATED_FIELDS = (*importer.UPDATED_FIELDS, "description")
#: The run policy's fields, by django-celery-beat's that they come from.
_POLICY_FIELDS = {"end_time": "expires", "max_runs": "one_off"}


@dataclass
class CeleryBeatPlan(importer.Plan):
    #: Rows not copied on purpose (name -> why).
    skipped: dict[str, str] = field(default_factory=dict)
    #: The run state to carry into each task's entry, by name.
    runs: dict[str, CarriedRun] = field(default_factory=dict)
    #: Once applied: the names whose run state was written into Redis.
    carried: list[str] = field(default_factory=list)


def make_plan(app: Celery, *, overwrite: bool = False, prune: bool = False) -> CeleryBeatPlan:
    """Compare django-celery-beat's rows with ours; reads the databases, writes nothing.
    CeleryBeatMissing if django-celery-beat is not installed."""
    plan = CeleryBeatPlan()
    found = celery_beat_rows.read_rows()
    names = [old.name for old in found]
    existing = _rows(names)
    in_settings = set(map(str, importer.configured_schedule(app)))
    for old in found:
        _plan_row(plan, old, existing.get(old.name), overwrite, in_settings)
    copied = PeriodicTask.objects.filter(source=Source.CELERY_BEAT_DB)
    gone = sorted(set(copied.values_list("name", flat=True)) - set(names))
    for row in _rows(gone).values():
        _plan_removal(plan, row, overwrite, prune)
    return plan


def apply(plan: CeleryBeatPlan, app: Celery | None = None) -> list[bridge.SyncFailure]:
    """Write the plan in one transaction; after the commit, Redis gets the entries, then their
    run state (``plan.carried`` names those written). Returns the sync failures."""
    with bridge.collect_failures() as failures, transaction.atomic():
        if plan.create:
            bulk_insert.insert_tasks(plan.create)
        if plan.update:
            PeriodicTask.objects.bulk_update(plan.update, UPDATED_FIELDS)
        if plan.removed:
            PeriodicTask.objects.filter(pk__in=[row.pk for row in plan.removed]).delete()
        # registered last, so run after the entries are written
        carry_after_commit(plan.runs, plan.carried, failures, app=app)
    return failures


def build(given: dict[str, Any]) -> PeriodicTask:
    """The task that one row's values make, checked, with its digest (EntryError)."""
    task = rows.new_task(given)
    try:
        task.run_policy  # noqa: B018  # checked first, to name django-celery-beat's field
    except PolicyError as exc:  # django-celery-beat's expires before its start_time
        raise EntryError(f"{_POLICY_FIELDS.get(exc.field, exc.field)}: {exc}") from None
    rows.check(task, given, shapes=None)
    model_schedules.fill_defaults(task)
    task.source_digest = copied_digest(task)
    return task


def copied_digest(task: PeriodicTask) -> str:
    """The digest of what an import copies: the entry's fields and the description."""
    return hashlib.sha256(f"{digest(task)}\n{task.description}".encode()).hexdigest()


def _plan_row(
    plan: CeleryBeatPlan,
    old: CeleryBeatRow,
    row: PeriodicTask | None,
    overwrite: bool,
    in_settings: set[str],
) -> None:
    name, run = old.name, CarriedRun(old.last_run_at, old.total_run_count)
    if name == BACKEND_CLEANUP:
        plan.skipped[name] = (
            "Celery's own cleanup of expired results: beat installs it by itself when the "
            "result backend needs it"
        )
    elif name in in_settings:
        plan.skipped[name] = _in_settings(plan, row, run)
    elif old.given is None:
        plan.errors[name] = old.error
    else:
        _plan_copy(plan, old.given, row, run, overwrite)


def _in_settings(plan: CeleryBeatPlan, row: PeriodicTask | None, run: CarriedRun) -> str:
    why = "in CELERY_BEAT_SCHEDULE, which django-celery-beat copies into its tables: "
    if row is not None and row.source == Source.SETTINGS:
        plan.runs[row.name] = run
        return why + "imported from there by redbeat_import; its run state is carried"
    return why + "`redbeat_import` imports it from there (then run this again for its run state)"


def _plan_copy(
    plan: CeleryBeatPlan,
    given: dict[str, Any],
    row: PeriodicTask | None,
    run: CarriedRun,
    overwrite: bool,
) -> None:
    name = given["name"]
    try:
        task = build(given)
    except EntryError as exc:
        plan.errors[name] = str(exc)
        return
    if row is None:
        plan.create.append(task)
    elif not overwrite and (why := _why_kept(row)):
        plan.kept[name] = why
        return
    elif row.source == Source.CELERY_BEAT_DB and copied_digest(row) == task.source_digest:
        plan.unchanged.append(name)
    else:
        task.pk, task.date_changed = row.pk, timezone.now()
        plan.update.append(task)
    plan.runs[name] = run


def _why_kept(row: PeriodicTask) -> str | None:
    if row.source != Source.CELERY_BEAT_DB:
        made = "imported from CELERY_BEAT_SCHEDULE" if row.source else "made in the admin or code"
        return f"a task of this name was {made}, not copied from {ORIGIN}; --overwrite replaces it"
    if copied_digest(row) != row.source_digest:
        return f"edited since it was copied from {ORIGIN}; --overwrite replaces it"
    return None


def _plan_removal(plan: CeleryBeatPlan, row: PeriodicTask, overwrite: bool, prune: bool) -> None:
    if not prune:
        plan.gone[row.name] = f"no longer in {ORIGIN}; --prune removes it"
    elif copied_digest(row) != row.source_digest and not overwrite:
        plan.gone[row.name] = f"no longer in {ORIGIN}, but edited since it was copied; "
        plan.gone[row.name] += "--prune --overwrite removes it"
    else:
        plan.removed.append(row)


def _rows(names: list[str]) -> dict[str, PeriodicTask]:
    chunks = bridge.filter_in_chunks(PeriodicTask.objects.all(), "name", names)
    return {row.name: row for chunk in chunks for row in chunk}
