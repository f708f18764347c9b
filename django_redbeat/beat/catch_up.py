"""Catch-up: what beat does with the slots an entry passed unsent (beat was down, Redis was away,
the entry was disabled), by its run policy's window and mode (run_policy.py).

A slot found later than the window is missed, never sent. Of the slots inside it, ``latest``
sends the newest once, ``all`` each one (oldest first, at most ``catch_up_limit``), ``none``
none: the entry skips to its next future slot. The window is one period of the schedule unless
set, and never under a minute, so a failover or a restart (seconds) misses nothing.

An interval's next slot counts from its last run (Celery's rule), so it has one slot to send:
sent if inside the window, else missed, the next one period from now. Calendar schedules
(crontab, rrule, solar) have every slot their calendar passed.

The plan is made on beat's clock; whichever beat claims first moves the entry's score, so two
beats with different clocks may choose differently but never both send (slot_claims.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django_redbeat.beat.slot_claims import Claim
from django_redbeat.beat.slots import counts_from_last_run, slot_after
from django_redbeat.decoder import dumps, from_timestamp, to_timestamp

if TYPE_CHECKING:
    from django_redbeat.beat.due_window import Due
    from django_redbeat.beat.entry import RedBeatSchedulerEntry

logger = logging.getLogger("celery.beat")

#: The least default window: a failover, a Redis restart or a beat restart misses nothing.
MIN_WINDOW = timedelta(minutes=1)
#: No schedule has two slots within this: a slot found sooner is on time, with no planning.
ON_TIME = timedelta(seconds=1)
#: The most passed slots counted one by one (a minutely crontab over a week is 10,080).
MAX_COUNTED = 20_000
#: A window for schedules with no next slot (a one-off): sent however late.
UNBOUNDED = timedelta.max


@dataclass(frozen=True)
class Plan:
    """The catch-up of one due entry."""

    send: datetime | None  # the slot sent now; None: nothing is sent
    missed: tuple[tuple[datetime, str], ...]  # the slots given up, with the reason
    also_missed: int = 0  # given up too, passed over uncounted (_passed_slots)
    next_slot: datetime | None = None  # under "all": the next slot to send, at once
    last_run_at: datetime | None = None  # when nothing is sent: the run state moves to it


def claim_for(item: Due, now: datetime) -> Claim:
    """The claim for a due entry: its slot and the run state after it, as the catch-up plans."""
    entry = item.entry
    try:
        caught = plan(entry, from_timestamp(item.slot), now)
    except Exception:  # a schedule whose calendar cannot be walked must not stop beat
        logger.exception("beat: %s: no catch-up could be planned; sent as it is", entry.name)
        caught = None
    if caught is None:  # on time: the hot path
        after = entry.next_instance()
        return Claim(entry, item.slot, after, after.score, item.stored_meta, dumps(after.meta))
    if caught.send is None:  # nothing sent: the run state moves past the missed slots
        after = entry.next_instance(caught.last_run_at)
        after.total_run_count = entry.total_run_count
        score = after.score
    elif caught.next_slot is not None:  # "all": the next slot is due at once
        after = entry.next_instance(caught.send)
        score = to_timestamp(caught.next_slot)
    else:
        after = entry.next_instance()
        score = after.score
    missed = tuple((to_timestamp(slot), reason) for slot, reason in caught.missed)
    return Claim(
        entry, item.slot, after, score, item.stored_meta, dumps(after.meta),
        run_slot=None if caught.send is None else to_timestamp(caught.send),
        missed=missed, missed_count=len(missed) + caught.also_missed,
    )  # fmt: skip


def plan(entry: RedBeatSchedulerEntry, slot: datetime, now: datetime) -> Plan | None:
    """The catch-up of an entry due for ``slot`` at ``now``; None when the slot is on time (the
    only one passed, inside the window): it is sent as it is."""
    if now - slot < ON_TIME:
        return None
    if counts_from_last_run(entry.schedule):
        return _interval_plan(entry, slot, now)
    passed, following, jumped = _passed_slots(entry, slot, now)
    window = _window(entry, passed, following)
    inside = [s for s in passed if now - s <= window]
    if len(passed) == 1 and inside:
        return None
    late = tuple((s, "window") for s in passed if now - s > window)
    policy = entry.policy
    if policy.catch_up == "latest" and inside:
        superseded = tuple((s, "superseded") for s in inside[:-1])
        return Plan(inside[-1], late + superseded, jumped)
    if policy.catch_up == "all" and inside:
        sent = inside[-policy.catch_up_limit :]
        limited = tuple((s, "limit") for s in inside[: -len(sent)])
        following = sent[1] if len(sent) > 1 else None
        return Plan(sent[0], late + limited, jumped, next_slot=following)
    superseded = tuple((s, "superseded") for s in inside)
    return Plan(None, late + superseded, jumped, last_run_at=passed[-1])


def _interval_plan(entry: RedBeatSchedulerEntry, slot: datetime, now: datetime) -> Plan | None:
    window = entry.policy.catch_up_window
    limit = timedelta(seconds=window) if window else max(MIN_WINDOW, entry.schedule.run_every)
    if now - slot <= limit:
        return None
    return Plan(None, ((slot, "window"),), last_run_at=now)


def _passed_slots(
    entry: RedBeatSchedulerEntry, slot: datetime, now: datetime
) -> tuple[list[datetime], datetime | None, int]:
    """The calendar's slots from ``slot`` to ``now``, the first one after them (None if the
    schedule ends), and how many were passed over uncounted: past MAX_COUNTED, the count jumps to
    the last ``catch_up_limit`` periods before now, which is all any mode sends from."""
    # the score is the slot rounded down to the second: the calendar's own slot is the next
    # one after a second before it
    passed = [_next(entry, slot - ON_TIME, now) or slot]
    following = _next(entry, passed[0], now)
    jumped = 0
    while following is not None and following <= now:
        passed.append(following)
        if len(passed) == MAX_COUNTED:
            gap = passed[-1] - passed[-2]
            restart = now - gap * (entry.policy.catch_up_limit + 1)
            if restart > passed[-1]:
                jumped = int((restart - passed[-1]) / gap)
                following = _next(entry, restart, now)
                continue
        following = _next(entry, following, now)
    return passed, following, jumped


def _next(entry: RedBeatSchedulerEntry, moment: datetime, now: datetime) -> datetime | None:
    """The calendar's next slot after ``moment``; None if it has none (a one-off answers with
    its own time whatever the moment asked: it has no later slot)."""
    found = slot_after(entry, moment, now)
    if found is None:
        return None
    # calendar slots fall on whole seconds; the schedule's own clock read adds microseconds
    found = (found + timedelta(microseconds=500_000)).replace(microsecond=0)
    return found if found > moment else None


def _window(
    entry: RedBeatSchedulerEntry, passed: list[datetime], following: datetime | None
) -> timedelta:
    """The policy's window, or one period (the gap after the newest passed slot), at least
    MIN_WINDOW."""
    if entry.policy.catch_up_window is not None:
        return timedelta(seconds=entry.policy.catch_up_window)
    if following is None:
        return UNBOUNDED
    return max(MIN_WINDOW, following - passed[-1])
