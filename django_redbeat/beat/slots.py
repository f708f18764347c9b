"""Schedule arithmetic on slots: the nominal time of an entry's next slot after a moment.

Most entries are plain intervals, and for them the next slot is the moment plus the period, in
UTC: computed directly, where Celery's ``remaining`` makes several time zone conversions per call
(most of the cost of scheduling a sent entry). Every other schedule asks Celery.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from celery.schedules import crontab as celery_crontab
from celery.schedules import schedule as celery_interval

from django_redbeat.schedules import crontab_remaining, oneoff

if TYPE_CHECKING:
    from django_redbeat.beat.entry import RedBeatSchedulerEntry


def slot_after(
    entry: RedBeatSchedulerEntry, moment: datetime | None, now: datetime
) -> datetime | None:
    """The nominal time (UTC, maybe past) of the entry's first slot after ``moment``, seen at
    ``now``; None when the schedule will not fire again."""
    every = plain_interval(entry.schedule)
    if every is not None:
        return as_utc(moment) + every  # type: ignore[arg-type]
    if isinstance(entry.schedule, celery_crontab):  # Celery's own too: it is saved from it
        remaining = crontab_remaining(entry.schedule, moment)  # type: ignore[arg-type]
    else:
        remaining = entry.schedule.remaining_estimate(moment)
    if remaining is None:
        return None
    return now + remaining


def counts_from_last_run(schedule: object) -> bool:
    """True for intervals: their slots count from the last run, not from a calendar."""
    return isinstance(schedule, celery_interval) and not isinstance(
        schedule, (celery_crontab, oneoff)
    )


def plain_interval(schedule: object) -> timedelta | None:
    """The period of a plain (not relative) interval schedule, else None."""
    if type(schedule) is celery_interval and not schedule.relative:
        return schedule.run_every
    return None


def as_utc(moment: datetime) -> datetime:
    """An aware moment in UTC; a naive one is read as UTC, as Celery's intervals read it."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
