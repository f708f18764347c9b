"""``manage.py redbeat_sync``: report drift between the database and Redis, and repair it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from django_redbeat.exceptions import RedBeatError
from django_redbeat.sync import drift


class Command(BaseCommand):
    help = (
        "Compare the periodic tasks in the database with the entries in Redis. With --repair, "
        "write the database's definitions to Redis (run state in Redis is kept) and remove "
        "the entries of deleted tasks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="Fix the drift found.")
        parser.add_argument(
            "--dry-run", action="store_true", help="With --repair: show what it would do only."
        )

    def handle(self, *args: Any, repair: bool, dry_run: bool, **options: Any) -> None:
        try:
            found = drift.find()
            self._report(found)
            if repair and found and not dry_run:
                drift.repair(found)
        except (RedisError, RedBeatError) as exc:
            raise CommandError(f"Redis cannot be read or written: {exc}") from exc
        self._conclude(found, repair, dry_run)

    def _report(self, found: drift.Drift) -> None:
        for kind, name in found.items():
            self.stdout.write(f"{kind:<9} {name}  ({drift.KINDS[kind]})")

    def _conclude(self, found: drift.Drift, repair: bool, dry_run: bool) -> None:
        writes, removals = len(found.to_write), len(found.orphaned)
        if not writes and not removals:
            message = "Redis matches the database."
            if found.invalid:
                message = f"{len(found.invalid)} invalid task(s) left as they are; " + message
            self.stdout.write(self.style.SUCCESS(message))
        elif dry_run:
            self.stdout.write(f"Would write {writes} entries and remove {removals}.")
        elif repair:
            self.stdout.write(self.style.SUCCESS(f"Wrote {writes} entries, removed {removals}."))
        else:
            self.stdout.write(
                self.style.WARNING(f"{writes + removals} to fix: run with --repair to fix them.")
            )
