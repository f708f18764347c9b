"""``manage.py redbeat_status``: the lock holder, what is due, what puts the schedule at risk."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from django_redbeat.beat import status
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
        self._line("Storage", self._storage_text(redis))
        self._line("Lock", self._lock_text(found["lock"]))
        self._line(
            "Entries",
            f"{entries['total']} ({entries['scheduled']} scheduled, "
            f"{entries['disabled_or_finished']} disabled or finished, {entries['static']} "
            f"static); {entries['due']} due now, {entries['overdue']} overdue",
        )
        self._next(found["next"])
        self._risks(found["risks"])

    def _line(self, title: str, text: str) -> None:
        self.stdout.write(f"{title:<9} {text}")

    @staticmethod
    def _storage_text(redis: dict[str, Any]) -> str:
        memory = (
            f"maxmemory {redis['maxmemory'] or 'unlimited'}, "
            f"maxmemory-policy {redis['maxmemory_policy'] or 'unknown'}"
        )
        rdb = {None: "RDB unknown (CONFIG not allowed)", "": "no RDB snapshots"}.get(
            redis["rdb_save"], f"RDB save {redis['rdb_save']!r}"
        )
        aof = {None: "AOF unknown", True: "AOF on", False: "AOF off"}[redis["aof"]]
        return f"{memory}; {rdb}, {aof}"

    @staticmethod
    def _lock_text(lock: dict[str, Any]) -> str:
        if lock["key"] is None:
            return "none (REDBEAT_LOCK_KEY is None: every beat sends)"
        if not lock["held"]:
            return f"{lock['key']} is free: no beat is sending"
        holder = f"{lock['host']} (pid {lock['pid']})" if lock.get("pid") else repr(lock["holder"])
        expiry = f", expires in {lock['ttl']:.1f} s" if lock.get("ttl") is not None else ""
        return f"{lock['key']} held by {holder}{expiry}"

    def _next(self, upcoming: list[dict[str, Any]]) -> None:
        if not upcoming:
            self._line("Next", "nothing scheduled")
            return
        self.stdout.write(f"Next {len(upcoming)}:")
        width = max(len(entry["name"]) for entry in upcoming)
        for entry in upcoming:
            seconds = entry["due_in"]
            when = f"in {seconds:.0f} s" if seconds > 0 else f"due {-seconds:.0f} s ago"
            task = entry["task"] or "(unreadable definition)"
            self.stdout.write(f"  {entry['due_at']}  {when:<16} {entry['name']:<{width}}  {task}")

    def _risks(self, risks: list[str]) -> None:
        if not risks:
            self._line("Risks", self.style.SUCCESS("none found"))
            return
        self.stdout.write("Risks:")
        for risk in risks:
            self.stdout.write(self.style.WARNING(f"  ! {risk}"))
