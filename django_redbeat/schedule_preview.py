"""A task's next runs as the admin shows them, from its fields (saved or not)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import Celery
from celery.schedules import maybe_schedule

from django_redbeat import model_schedules

#: How many runs the form previews.
COUNT = 5


def run_lines(task: Any, app: Celery, last_run_at: datetime | None) -> list[str]:
    """The next runs after ``last_run_at`` (None: from now), in the schedule's time zone, on the
    app's clock (ValueError or TypeError if the schedule is invalid)."""
    schedule = maybe_schedule(task.schedule, app=app)
    times = model_schedules.upcoming(schedule, last_run_at, COUNT)
    return [f"{moment:%Y-%m-%d %H:%M:%S %Z} ({moment:%a})" for moment in times]
