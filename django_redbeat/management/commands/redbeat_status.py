"""``manage.py redbeat_status``: the lock holder, what is due, what puts the schedule at risk."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from django_redbeat.beat import status, status_text
from django_redbeat.exceptions import RedBeatError
from django_redbeat.store.connection import brief_retries
from django_redbeat.sync import bridge


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Show the beat lock's holder and remaining time, how many entries there are, how many "
        "are due or overdue, the next ones to run, and Redis settings that put the schedule at "
        "risk (an evicting maxmemory-policy, no persistence)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-n", "--count", type=non_negative_int, default=10,
            help="How many of the next entries to show (default: 10).",
        )  # fmt: skip
        parser.add_argument(
            "--overdue-after", type=float, default=status.OVERDUE_AFTER,
            help=f"Seconds after which a due entry counts as overdue "
            f"(default: {status.OVERDUE_AFTER}).",
        )  # fmt: skip
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            app = bridge.celery_app()
        except RedBeatError as exc:  # REDBEAT_CELERY_APP cannot be imported
            raise CommandError(str(exc)) from exc
        try:
            with brief_retries(app, seconds=2):
                found = status.report(app, options["count"], options["overdue_after"])
        except (RedisError, RedBeatError) as exc:
            raise CommandError(f"Redis cannot be read: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(found, indent=2))
        else:
            self._print(found)

    def _print(self, found: dict[str, Any]) -> None:
        redis, entries = found["redis"], found["entries"]
        version = f" (Redis {redis['version']})" if redis.get("version") else ""
        self._line("Redis", f"{redis['url']}{version}, key prefix {found['key_prefix']!r}")
        self._line("Storage", status_text.storage_text(redis))
        self._line("Lock", status_text.lock_text(found["lock"]))
        self._line("Entries", status_text.entries_text(entries))
        self._next(found["next"])
        self._risks(found["risks"])

    def _line(self, title: str, text: str) -> None:
        self.stdout.write(f"{title:<9} {text}")

    def _next(self, upcoming: list[dict[str, Any]]) -> None:
        if not upcoming:
            self._line("Next", "nothing scheduled")
            return
        self.stdout.write(f"Next {len(upcoming)}:")
        width = max(len(entry["name"]) for entry in upcoming)
        for entry in upcoming:
            when = status_text.due_text(entry["due_in"])
            task = entry["task"] or "(unreadable definition)"
            self.stdout.write(f"  {entry['due_at']}  {when:<16} {entry['name']:<{width}}  {task}")

    def _risks(self, risks: list[str]) -> None:
        if not risks:
            self._line("Risks", self.style.SUCCESS("none found"))
            return
        self.stdout.write("Risks:")
        for risk in risks:
            self.stdout.write(self.style.WARNING(f"  ! {risk}"))
