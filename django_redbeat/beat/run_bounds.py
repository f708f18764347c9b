"""An entry's next due time under its run policy: start and end bounds, max runs, jitter.

Jitter is a function of (entry name, slot) alone, so every beat computes the same send time for
a slot, and the slot's score (the compare-and-set of slot_claims.py) still makes it go out once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django_redbeat.beat.slots import counts_from_last_run, slot_after
from django_redbeat.decoder import to_timestamp

if TYPE_CHECKING:
    from django_redbeat.beat.entry import RedBeatSchedulerEntry

#: How far before a start bound the first slot is looked for: a slot at the bound itself counts.
_JUST_BEFORE = timedelta(seconds=1)


def jitter_offset(name: str, slot: float, jitter: float) -> int:
    """Whole seconds (0 to ``jitter``) added to an entry's ``slot``: the same on every beat."""
    if jitter < 1:
        return 0
    key = f"{name}|{to_timestamp(slot) if isinstance(slot, datetime) else int(slot)}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int(int.from_bytes(digest, "big") / 2**64 * (int(jitter) + 1))


def jittered(entry: RedBeatSchedulerEntry, nominal: datetime) -> datetime:
    """When a slot is sent: its nominal time plus the entry's jitter for it."""
    return nominal + timedelta(seconds=jitter_offset(entry.name, nominal, entry.policy.jitter))


def due_at(entry: RedBeatSchedulerEntry, nominal: datetime, now: datetime) -> datetime | None:
    """When an entry with a policy is next due, given its schedule's next slot ``nominal``;
    None if never."""
    slot = due_slot(entry, nominal, now)
    return None if slot is None else max(now, slot)


def due_slot(entry: RedBeatSchedulerEntry, nominal: datetime, now: datetime) -> datetime | None:
    """The slot an entry with a policy is due for (maybe past), given its schedule's next slot
    ``nominal``; None if never."""
    policy = entry.policy
    if policy.max_runs is not None and (entry.total_run_count or 0) >= policy.max_runs:
        return None
    if policy.start_time is not None and nominal < policy.start_time:
        nominal = _first_from(entry, policy.start_time, now)
        if nominal is None:
            return None
    if policy.end_time is not None and nominal > policy.end_time:
        return None
    return jittered(entry, nominal)


def _first_from(entry: RedBeatSchedulerEntry, start: datetime, now: datetime) -> datetime | None:
    """The first slot at or after a start bound: the bound itself for an interval (it counts
    from there), the schedule's first slot from it for the others."""
    if counts_from_last_run(entry.schedule):
        return start
    return slot_after(entry, start - _JUST_BEFORE, now)


def in_bounds(entry: RedBeatSchedulerEntry, slot: datetime) -> bool:
    """False for a slot after the end bound (never sent, never counted missed)."""
    end = entry.policy.end_time
    return end is None or slot <= end
