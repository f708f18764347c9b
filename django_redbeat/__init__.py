"""django-redbeat: a Celery beat scheduler kept live in Redis, edited in the Django admin.

Importing the package is cheap: it imports neither Celery nor Django and reads no settings.
The two public classes load on first access (PEP 562).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["RedBeatScheduler", "RedBeatSchedulerEntry"]


def __getattr__(name: str) -> Any:
    if name == "RedBeatScheduler":
        from django_redbeat.beat.scheduler import RedBeatScheduler

        return RedBeatScheduler
    if name == "RedBeatSchedulerEntry":
        from django_redbeat.beat.entry import RedBeatSchedulerEntry

        return RedBeatSchedulerEntry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
