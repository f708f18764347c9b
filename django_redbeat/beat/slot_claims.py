"""Slot claims: the Lua that makes each (entry, scheduled time) go out once.

Before sending, beat claims the due entries in one script call: for each, the script checks that
this beat still holds the lock and that the entry's score and run state are still the slot and
meta beat read, then writes the run state and the next due time. Whoever claims a slot first
moves its score, so no other beat can claim it: not a paused holder that wakes, not a standby.
The lock decides who does the work, the compare-and-set that each slot goes out once.

Time is judged on one clock, Redis's (``TIME`` in the scripts): no claim takes a slot still in
the future there, and a standby (claiming without the lock) takes only slots overdue by its
grace, found by :data:`OVERDUE`. A send that fails is given back (its claim undone) so the next
tick retries the same slot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django_redbeat.decoder import from_timestamp, to_timestamp
from django_redbeat.signals import runs_missed, runs_skipped

logger = logging.getLogger("celery.beat")

#: KEYS[1] the lock key, KEYS[2] the schedule key, KEYS[3..] the entry keys.
#: ARGV[1] this beat's lock token ('' claims without the lock: a standby, or beat without one);
#: ARGV[2] the grace: how many seconds Redis's clock must be past a slot to claim it (0 for the
#: holder); then for each entry four values: the slot (score read), the meta read, the new meta
#: JSON, the new score.
#: Returns -1 if the lock is not ours (nothing written), else Redis's time (seconds,
#: microseconds) and per entry 1 (claimed), 0 (the slot was taken or the entry changed) or
#: 2 (not due yet on Redis's clock: a beat whose clock runs fast must not send early).
CLAIM = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return -1
end
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local grace = tonumber(ARGV[2])
local results = {time[1], time[2]}
for i = 3, #KEYS do
    local arg = 3 + (i - 3) * 4
    local score = redis.call('ZSCORE', KEYS[2], KEYS[i])
    local slot = tonumber(ARGV[arg])
    if not score or tonumber(score) ~= slot
            or (redis.call('HGET', KEYS[i], 'meta') or '') ~= ARGV[arg + 1] then
        results[#results + 1] = 0
    elseif slot + grace > now then
        results[#results + 1] = 2
    else
        redis.call('HSET', KEYS[i], 'meta', ARGV[arg + 2])
        redis.call('ZADD', KEYS[2], ARGV[arg + 3], KEYS[i])
        results[#results + 1] = 1
    end
end
return results
"""

#: KEYS[1] the schedule key, KEYS[2] the lock key. ARGV[1] the grace (seconds), ARGV[2] how many
#: members to return at most. Returns Redis's time (seconds, microseconds), the lock's token
#: ('' when free) and the members overdue by more than the grace, as a flat list of key, score.
OVERDUE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local latest = string.format('%.6f', now - tonumber(ARGV[1]))
local overdue = redis.call('ZRANGEBYSCORE', KEYS[1], 0, latest, 'WITHSCORES', 'LIMIT', 0, ARGV[2])
return {time[1], time[2], redis.call('GET', KEYS[2]) or '', overdue}
"""

#: KEYS[1] the schedule key, KEYS[2..] the entry keys.
#: ARGV per entry four values: the score and meta the claim wrote, the slot and meta to restore.
#: An entry changed since the claim (edited, deleted) is left as it is.
UNDO = """
for i = 2, #KEYS do
    local arg = 1 + (i - 2) * 4
    local score = redis.call('ZSCORE', KEYS[1], KEYS[i])
    if score and tonumber(score) == tonumber(ARGV[arg])
            and redis.call('HGET', KEYS[i], 'meta') == ARGV[arg + 1] then
        redis.call('ZADD', KEYS[1], ARGV[arg + 2], KEYS[i])
        redis.call('HSET', KEYS[i], 'meta', ARGV[arg + 3])
    end
end
return 1
"""


#: The hash field that counts an entry's runs given up on after failed sends.
MISSED_FIELD = "missed_run_count"


class LockLost(Exception):
    """The claim found that this beat no longer holds the lock."""


@dataclass
class Claim:
    """One due entry's slot: what beat read, and what it writes when it claims it."""

    entry: Any  # the due RedBeatSchedulerEntry
    slot: int  # its score when read: the scheduled time, UNIX seconds
    after: Any  # the entry after this run
    after_score: int  # its next due time
    before_meta: str
    after_meta: str


@dataclass
class Claimed:
    """What a claim won, and when (seconds from now, on Redis's clock) those refused as not yet
    due will be."""

    won: list[Claim]
    not_yet: list[float]


@dataclass
class Overdue:
    """What a standby found: Redis's time, the lock's token, the overdue slots by key."""

    now: float  # Redis's clock, UNIX seconds
    lock_token: str | None  # None: nobody holds the lock
    slots: dict[str, float]
    truncated: bool  # more were overdue than the limit


class SlotClaims:
    def __init__(self, client: Any, schedule_key: str, lock_key: str | None) -> None:
        self._client = client
        self.schedule_key = schedule_key
        self.lock_key = lock_key
        self._claim = client.register_script(CLAIM)
        self._undo = client.register_script(UNDO)
        self._overdue = client.register_script(OVERDUE)

    def claim(self, claims: list[Claim], token: str | None, grace: float = 0) -> Claimed:
        """Claim the slots that are due on Redis's clock (overdue by ``grace`` seconds, when
        claimed without the lock). Raises LockLost if ``token`` no longer holds the lock."""
        if not claims:
            return Claimed([], [])
        args: list[Any] = [token or "", grace]
        for claim in claims:
            args += [claim.slot, claim.before_meta, claim.after_meta, claim.after_score]
        keys = [self.lock_key or self.schedule_key, self.schedule_key]
        reply = self._claim(keys=keys + [c.entry.key for c in claims], args=args)
        if reply == -1:
            raise LockLost(self.lock_key)
        now = redis_time(reply[0], reply[1])
        results = list(zip(claims, reply[2:], strict=True))
        lost = [claim.entry.name for claim, result in results if result == 0]
        if lost:
            runs_skipped.send(sender=self, entries=lost, reason="claimed")
        return Claimed(
            won=[claim for claim, result in results if result == 1],
            not_yet=[claim.slot + grace - now for claim, result in results if result == 2],
        )

    def overdue(self, grace: float, limit: int) -> Overdue:
        """The slots overdue by more than ``grace`` seconds on Redis's clock (at most
        ``limit``), with the lock's token: one script call."""
        keys = [self.schedule_key, self.lock_key or self.schedule_key]
        seconds, microseconds, token, flat = self._overdue(keys=keys, args=[grace, limit + 1])
        slots = dict(zip(flat[: 2 * limit : 2], map(float, flat[1 : 2 * limit : 2]), strict=True))
        return Overdue(
            now=redis_time(seconds, microseconds),
            lock_token=token or None,
            slots=slots,
            truncated=len(flat) > 2 * limit,
        )

    def undo(self, claims: list[Claim]) -> None:
        """Give slots back (their sends failed) so the next tick sends them again."""
        if not claims:
            return
        args: list[Any] = []
        for claim in claims:
            args += [claim.after_score, claim.after_meta, claim.slot, claim.before_meta]
        self._undo(keys=[self.schedule_key] + [c.entry.key for c in claims], args=args)

    def count_missed(self, claims: list[Claim]) -> None:
        """Count slots given up on in the entry hash (a field celery-redbeat never reads)."""
        if not claims:
            return
        with self._client.pipeline(transaction=False) as pipe:
            for claim in claims:
                pipe.hincrby(claim.entry.key, MISSED_FIELD, 1)
            pipe.execute()
        runs_missed.send(sender=self, entries=[claim.entry.name for claim in claims])

    def retry_or_miss(self, failed: list[Claim], now: datetime, retry_window: float) -> bool:
        """Give failed slots back for the next tick, until they are older than ``retry_window``
        seconds: those are missed (logged and counted). True if any is given back."""
        if not failed:
            return False
        at = to_timestamp(now)
        retry = [claim for claim in failed if at - claim.slot < retry_window]
        missed = [claim for claim in failed if claim not in retry]
        self.undo(retry)
        for claim in missed:
            logger.error(
                "beat: %s missed its run at %s: sending failed for %d s",
                claim.entry.name, from_timestamp(claim.slot).isoformat(), at - claim.slot,
            )  # fmt: skip
        self.count_missed(missed)
        return bool(retry)


def redis_time(seconds: Any, microseconds: Any) -> float:
    """Redis's ``TIME`` as UNIX seconds."""
    return int(seconds) + int(microseconds) / 1_000_000
