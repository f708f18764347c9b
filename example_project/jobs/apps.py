from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created

#: Milliseconds a job waits for another job's write to SQLite before it gives up.
SQLITE_BUSY_TIMEOUT_MS = 20_000


def use_wal(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite in WAL mode: readers (the report job, the admin) never block the jobs' writes, nor
    they the readers; a write waits for another up to the busy timeout instead of failing.
    Set here rather than in OPTIONS: Django before 5.1 has no ``init_command`` for SQLite."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        connection_created.connect(use_wal, dispatch_uid="jobs.use_wal")
