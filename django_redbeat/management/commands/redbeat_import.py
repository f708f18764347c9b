"""``manage.py redbeat_import``: CELERY_BEAT_SCHEDULE (or, with ``--from-django-celery-beat``,
django-celery-beat's periodic tasks) into the periodic tasks, then Redis."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_redbeat.exceptions import RedBeatError
from django_redbeat.importing import celery_beat, importer
from django_redbeat.sync import bridge

#: A progress line every this many entries checked (and none for fewer).
PROGRESS_EVERY = 1000


class Command(BaseCommand):
    #: Where the tasks come from, as the report names it.
    origin, gone_from = "CELERY_BEAT_SCHEDULE", "the settings"
    help = (
        "Import CELERY_BEAT_SCHEDULE (Django settings, else the Celery app's beat_schedule) into "
        "the periodic tasks, and so into Redis. Running it again changes only what changed in "
        "the settings; tasks edited since their import are left alone unless --overwrite. "
        "With --from-django-celery-beat, copy django-celery-beat's periodic tasks instead, "
        "with their last run and run count."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--overwrite", action="store_true",
            help="Also replace tasks edited since their import, or created with the same name.",
        )  # fmt: skip
        parser.add_argument(
            "--prune", action="store_true",
            help="Delete imported tasks whose entry is no longer in the settings.",
        )  # fmt: skip
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; write nothing."
        )
        parser.add_argument(
            "--from-django-celery-beat", action="store_true",
            help="Copy django-celery-beat's periodic tasks (its tables) rather than the settings.",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        if options["from_django_celery_beat"]:
            self._from_celery_beat(options)
            return
        try:
            schedule = importer.configured_schedule(bridge.celery_app())
        except RedBeatError as exc:  # REDBEAT_CELERY_APP cannot be imported
            raise CommandError(str(exc)) from exc
        started = time.monotonic()
        plan = importer.make_plan(
            schedule, overwrite=options["overwrite"], prune=options["prune"],
            progress=self._progress if len(schedule) >= PROGRESS_EVERY else None,
        )  # fmt: skip
        self._report(plan, listing_all=options["dry_run"] or self.verbosity > 1)
        if options["dry_run"]:
            self._say(f"Dry run, nothing written: {self._counts(plan, dry_run=True)}.")
        else:
            if plan.changes and self.verbosity and len(schedule) >= PROGRESS_EVERY:
                self.stdout.write(f"Writing {plan.changes} tasks to the database and Redis...")
            self._warn_unsynced(importer.apply(plan))
            elapsed = time.monotonic() - started
            self._say(f"Imported {len(schedule)} entries: {self._counts(plan)} ({elapsed:.2f} s).")
        if plan.errors:
            raise CommandError(f"{len(plan.errors)} entries could not be imported (see above).")

    def _from_celery_beat(self, options: dict[str, Any]) -> None:
        try:
            app = bridge.celery_app()
            plan = celery_beat.make_plan(
                app, overwrite=options["overwrite"], prune=options["prune"]
            )
        except RedBeatError as exc:  # django-celery-beat or REDBEAT_CELERY_APP missing
            raise CommandError(str(exc)) from exc
        self.origin = self.gone_from = celery_beat.ORIGIN
        self._report(plan, listing_all=options["dry_run"] or self.verbosity > 1)
        total = len(plan.create) + len(plan.update) + len(plan.unchanged) + len(plan.kept)
        total += len(plan.skipped) + len(plan.errors)
        if options["dry_run"]:
            self._say(f"Dry run, nothing written: {self._counts(plan, dry_run=True)}.")
        else:
            self._apply_celery_beat(plan, app, total)
        if plan.errors:
            raise CommandError(f"{len(plan.errors)} tasks could not be copied (see above).")

    def _apply_celery_beat(self, plan: celery_beat.CeleryBeatPlan, app: Any, total: int) -> None:
        failures = celery_beat.apply(plan, app)
        self._warn_unsynced(failures)
        if failures:
            self.stderr.write(self.style.WARNING(
                "Then run this import again: it carries the run state that did not reach "
                "Redis (a copied task's last run and run count)."
            ))  # fmt: skip
        counts, carried = self._counts(plan), len(plan.carried)
        if carried:
            counts += f"; run state carried into {carried} entr{'y' if carried == 1 else 'ies'}"
        self._say(f"Read {total} {self.origin} tasks: {counts}.")

    def _progress(self, done: int, total: int) -> None:
        if self.verbosity and (done % PROGRESS_EVERY == 0 or done == total):
            self.stdout.write(f"Checked {done}/{total} entries")

    def _report(self, plan: importer.Plan, listing_all: bool) -> None:
        for name, reason in plan.errors.items():
            self.stderr.write(f"error    {name}: {reason}")
        if self.verbosity < 1:
            return
        if listing_all:
            for task in plan.create:
                self.stdout.write(f"create   {task.name}")
            for task in plan.update:
                self.stdout.write(f"update   {task.name}")
        for name, reason in plan.kept.items():
            self.stdout.write(f"kept     {name}  ({reason})")
        for name, reason in getattr(plan, "skipped", {}).items():
            self.stdout.write(f"skipped  {name}  ({reason})")
        for task in plan.removed:
            self.stdout.write(f"remove   {task.name}  (no longer in {self.origin})")
        for name, reason in plan.gone.items():
            self.stdout.write(f"gone     {name}  ({reason})")

    def _counts(self, plan: importer.Plan, dry_run: bool = False) -> str:
        verbs = (
            ("to create", "to update", "to remove")
            if dry_run
            else ("created", "updated", "removed")
        )
        counts = [
            *zip(verbs, (len(plan.create), len(plan.update), len(plan.removed)), strict=True),
            ("unchanged", len(plan.unchanged)),
            ("kept", len(plan.kept)), ("skipped", len(getattr(plan, "skipped", ()))),
            (f"gone from {self.gone_from}", len(plan.gone)), ("invalid", len(plan.errors)),
        ]  # fmt: skip
        return ", ".join(f"{count} {what}" for what, count in counts if count) or "nothing to do"

    def _say(self, message: str) -> None:
        if self.verbosity:
            self.stdout.write(self.style.SUCCESS(message))

    def _warn_unsynced(self, failures: list[bridge.SyncFailure]) -> None:
        if failures:
            names = sorted({failure.name for failure in failures})
            self.stderr.write(self.style.WARNING(
                f"{len(names)} tasks are saved but not yet in Redis ({failures[0].reason}): "
                "run `manage.py redbeat_sync --repair` once Redis is back."
            ))  # fmt: skip
