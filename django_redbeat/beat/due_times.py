"""When an entry is due: its next due time (the score) and Celery's ``is_due`` answer.

Beat's hot path computes plain intervals' slots directly (slots.py); an entry with a run policy
has its bounds, max runs and jitter applied (run_bounds.py).
"""

from __future__ import annotations

from datetime import MINYEAR, datetime, timezone
from typing import TYPE_CHECKING

from celery.schedules import schedstate

from django_redbeat.beat import run_bounds
from django_redbeat.beat.run_policy import DEFAULT
from django_redbeat.beat.slots import as_utc, plain_interval, slot_after
from django_redbeat.decoder import to_timestamp
from django_redbeat.schedules import oneoff

if TYPE_CHECKING:
    from django_redbeat.beat.entry import RedBeatSchedulerEntry

__all__ = ["as_utc", "due_at", "due_slot", "is_due", "kept_score", "plain_interval"]


def due_at(entry: RedBeatSchedulerEntry, now: datetime) -> datetime | None:
    """When ``entry`` is next due, seen at ``now``: never before it; None when disabled or
    finished."""
    slot = due_slot(entry, now)
    return None if slot is None else max(now, slot)


def due_slot(entry: RedBeatSchedulerEntry, now: datetime) -> datetime | None:
    """The slot ``entry`` is due for, seen at ``now``: past when it is overdue; None when
    disabled or finished."""
    if not entry.enabled:
        return None
    # in UTC: adding a timedelta to a zoned datetime moves its wall clock, and so lands an hour
    # off when a DST change falls in between
    now = now.astimezone(timezone.utc)
    if entry.last_run_at is None and not isinstance(entry.schedule, oneoff):
        nominal: datetime | None = now  # never run: due now, as in celery-redbeat
    else:
        nominal = slot_after(entry, entry.last_run_at, now)
    if nominal is None:
        return None
    if entry.policy is DEFAULT:  # the hot path: no policy to apply
        return nominal
    return run_bounds.due_slot(entry, nominal, now)


def kept_score(
    entry: RedBeatSchedulerEntry, score: int, stored: float | None, now: datetime
) -> int:
    """The score to write for an entry saved again: an overdue one is scored at the slot it is
    due for, not now: its stored score if it has one, else the slot its schedule passed (an
    entry enabled again). Its run goes out with that slot, and its catch-up (catch_up.py) sees
    how late it is."""
    if score != to_timestamp(now):
        return score
    if stored is not None and 0 <= stored < score:
        return int(stored)
    slot = due_slot(entry, now)
    return score if slot is None else min(score, to_timestamp(slot))


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
