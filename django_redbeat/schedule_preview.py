"""A task's next runs as the admin shows them, from its fields (saved or not), within its run
policy's start and end bounds (as beat/run_bounds.py bounds them; jitter left out)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from celery.schedules import maybe_schedule

from django_redbeat import model_schedules
from django_redbeat.beat.slots import counts_from_last_run
from django_redbeat.schedules import oneoff

#: How many runs the form previews.
COUNT = 5


def run_lines(task: Any, app: Celery, last_run_at: datetime | None) -> list[str]:
    """The next runs after ``last_run_at`` (None: from now), in the schedule's time zone, on the
    app's clock (ValueError or TypeError if the schedule or the run policy is invalid)."""
    schedule = maybe_schedule(task.schedule, app=app)
    policy = task.run_policy
    times = _from_start(schedule, policy.start_time, last_run_at)
    end = policy.end_time
    return [
        f"{moment:%Y-%m-%d %H:%M:%S %Z} ({moment:%a})"
        for moment in times
        if end is None or moment <= end
    ]


def _from_start(schedule: Any, start: datetime | None, last_run_at: datetime | None) -> list[Any]:
    """The next runs, none before ``start``: an interval counts from the start itself, the
    other kinds run at their first slot from it (a one-off due before it never runs)."""
    times = model_schedules.upcoming(schedule, last_run_at, COUNT)
    if start is None or not times or times[0] >= start:
        return times
    if isinstance(schedule, oneoff):
        return []
    if counts_from_last_run(schedule):
        first = start.astimezone(times[0].tzinfo)
        return [first, *model_schedules.upcoming(schedule, start, COUNT - 1)]
    return model_schedules.upcoming(schedule, start - timedelta(seconds=1), COUNT)
