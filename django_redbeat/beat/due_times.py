"""When an entry is due: its next due time (the score) and Celery's ``is_due`` answer.

Most entries are plain intervals, and for them "due" is last run + period in UTC: beat's hot path
computes that directly, where Celery's ``remaining`` makes several time zone conversions per call
(most of the cost of scheduling a sent entry). Every other schedule asks Celery.
"""

from __future__ import annotations

from datetime import MINYEAR, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from celery.schedules import crontab as celery_crontab
from celery.schedules import schedstate
from celery.schedules import schedule as celery_interval

from django_redbeat.schedules import crontab_remaining, oneoff

if TYPE_CHECKING:
    from django_redbeat.beat.entry import RedBeatSchedulerEntry


def due_at(entry: RedBeatSchedulerEntry, now: datetime) -> datetime | None:
    """When ``entry`` is next due, seen at ``now``: never before it; None when disabled or
    finished."""
    if not entry.enabled:
        return None
    # in UTC: adding a timedelta to a zoned datetime moves its wall clock, and so lands an hour
    # off when a DST change falls in between
    now = now.astimezone(timezone.utc)
    if entry.last_run_at is None and not isinstance(entry.schedule, oneoff):
        return now  # never run: due now, as in celery-redbeat
    every = plain_interval(entry.schedule)
    if every is not None:
        return max(now, as_utc(entry.last_run_at) + every)
    if isinstance(entry.schedule, celery_crontab):  # Celery's own too: it is saved from it
        remaining = crontab_remaining(entry.schedule, entry.last_run_at)
    else:
        remaining = entry.schedule.remaining_estimate(entry.last_run_at)
    if remaining is None:
        return None
    return now + max(remaining, timedelta(0))


def is_due(entry: RedBeatSchedulerEntry) -> schedstate:
    """Celery's answer (due now?, seconds to the next check), without its conversions for plain
    intervals."""
    if not entry.enabled:
        return schedstate(False, None)
    every = plain_interval(entry.schedule)
    if every is not None:
        if entry.last_run_at is None:
            return schedstate(True, every.total_seconds())
        remaining = (as_utc(entry.last_run_at) + every - entry.schedule.now()).total_seconds()
        if remaining <= 0:
            return schedstate(True, every.total_seconds())
        return schedstate(False, remaining)
    if isinstance(entry.schedule, oneoff):
        return entry.schedule.is_due(entry.last_run_at)
    never = datetime(MINYEAR, 1, 2, tzinfo=entry.schedule.tz)
    return entry.schedule.is_due(entry.last_run_at or never)


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
