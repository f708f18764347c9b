"""Slot claims: the Lua that makes each (entry, scheduled time) go out once.

Before sending, beat claims the due entries in one script call: for each, the script checks that
this beat still holds the lock and that the entry's score is still the slot beat read, then
writes the run state and the next due time. Two beats that both believe they hold the lock (a
paused holder, a failover) cannot both claim a slot: the second finds the score moved. A send
that fails is given back (its claim undone) so the next tick retries the same slot.
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
#: ARGV[1] this beat's lock token ('' when beat runs without a lock); then for each entry
#: three values: the slot (score read), the new meta JSON, the new score.
#: Returns -1 if the lock is not ours (nothing written), else one 1 (claimed) or 0 (the slot
#: was already taken or the entry changed) per entry.
CLAIM = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return -1
end
local results = {}
for i = 3, #KEYS do
    local arg = 2 + (i - 3) * 3
    local score = redis.call('ZSCORE', KEYS[2], KEYS[i])
    if score and tonumber(score) == tonumber(ARGV[arg]) then
        redis.call('HSET', KEYS[i], 'meta', ARGV[arg + 1])
        redis.call('ZADD', KEYS[2], ARGV[arg + 2], KEYS[i])
        results[#results + 1] = 1
    else
        results[#results + 1] = 0
    end
end
return results
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


class SlotClaims:
    def __init__(self, client: Any, schedule_key: str, lock_key: str | None) -> None:
        self._client = client
        self.schedule_key = schedule_key
        self.lock_key = lock_key
        self._claim = client.register_script(CLAIM)
        self._undo = client.register_script(UNDO)

    def claim(self, claims: list[Claim], token: str | None) -> list[Claim]:
        """Claim the slots; return those won. Raises LockLost if the lock is not ours."""
        if not claims:
            return []
        args: list[Any] = [token or ""]
        for claim in claims:
            args += [claim.slot, claim.after_meta, claim.after_score]
        keys = [self.lock_key or self.schedule_key, self.schedule_key]
        won = self._claim(keys=keys + [c.entry.key for c in claims], args=args)
        if won == -1:
            raise LockLost(self.lock_key)
        if 0 in won:
            lost = [claim.entry.name for claim, ok in zip(claims, won, strict=True) if not ok]
            runs_skipped.send(sender=self, entries=lost, reason="claimed")
        return [claim for claim, ok in zip(claims, won, strict=True) if ok == 1]

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
