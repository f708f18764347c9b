"""Slot claims: the Lua that makes each (entry, scheduled time) go out once.

Before sending, beat claims the due entries in one script call: for each, the script checks that
this beat still holds the lock and that the entry's score and run state are still the slot and
meta beat read, then writes the run state and the next due time. Whoever claims a slot first
moves its score, so no other beat can claim it: not a paused holder that wakes, not a standby.
The lock decides who does the work, the compare-and-set that each slot goes out once.

Time is judged on one clock, Redis's (``TIME`` in the scripts): no claim takes a slot still in
the future there, and a standby (claiming without the lock) takes only slots overdue by its
grace, found by ``OVERDUE``. A send that fails is given back (its claim undone) so the next
tick retries the same slot.

The same call writes the run's history record (run_history.py) with the task id chosen here,
and enforces the entry's overlap policy on its running marker (worker_hook.py): a slot whose
previous run is still running is skipped or buffered there, atomically, at no extra round trip.
The scripts are in claim_scripts.py.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kombu.utils.uuid import uuid

from django_redbeat.beat.claim_scripts import CLAIM, OVERDUE, UNDO
from django_redbeat.beat.run_history import MISSED_FIELD
from django_redbeat.decoder import from_timestamp, to_timestamp
from django_redbeat.signals import runs_missed, runs_skipped
from django_redbeat.store import keys

logger = logging.getLogger("celery.beat")


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
    #: the id the task is sent with, chosen before the claim so that its history record has it
    task_id: str = field(default_factory=uuid)
    #: the slot the run goes out for (its header, its history record): ``slot`` unless a
    #: catch-up sends a later one (catch_up.py); None sends nothing, only records the missed
    run_slot: int | None = -1
    #: the slots given up by this claim's catch-up, (slot, reason), and how many in all
    missed: tuple[tuple[int, str], ...] = ()
    missed_count: int = 0

    def __post_init__(self) -> None:
        if self.run_slot == -1:
            self.run_slot = self.slot

    @property
    def checked_slot(self) -> int:
        """The slot Redis's clock must have passed for the claim: the one sent, if any."""
        return self.slot if self.run_slot is None else self.run_slot


@dataclass
class Claimed:
    """What a claim won, when (seconds from now, on Redis's clock) those refused as not yet
    due will be, and the slots not sent because the entry's previous run is still running."""

    won: list[Claim]
    not_yet: list[float]
    skipped: list[Claim] = field(default_factory=list)
    buffered: list[Claim] = field(default_factory=list)
    #: claims that sent nothing, only moved the entry past the slots it missed
    missed: list[Claim] = field(default_factory=list)


@dataclass
class Overdue:
    """What a standby found: Redis's time, the lock's token, the overdue slots by key."""

    now: float  # Redis's clock, UNIX seconds
    lock_token: str | None  # None: nobody holds the lock
    slots: dict[str, float]
    truncated: bool  # more were overdue than the limit


class SlotClaims:
    def __init__(
        self,
        client: Any,
        schedule_key: str,
        lock_key: str | None,
        key_prefix: str = "",
        history_length: int = 0,
    ) -> None:
        self._client = client
        self.schedule_key = schedule_key
        self.lock_key = lock_key
        self.key_prefix = key_prefix
        self.history_length = history_length
        #: who sends, in the history's records
        self.beat_name = json.dumps(f"{socket.gethostname()}:{os.getpid()}")
        self._claim = client.register_script(CLAIM)
        self._undo = client.register_script(UNDO)
        self._overdue = client.register_script(OVERDUE)

    def _keys(self, claims: list[Claim]) -> list[str]:
        """Each claim's entry key, history key and running marker key, in turn."""
        prefix, found = self.key_prefix, []
        for claim in claims:
            name = claim.entry.name
            found += [
                claim.entry.key,
                keys.history_key(prefix, name),
                keys.running_key(prefix, name),
            ]
        return found

    def claim(self, claims: list[Claim], token: str | None, grace: float = 0) -> Claimed:
        """Claim the slots that are due on Redis's clock (overdue by ``grace`` seconds, when
        claimed without the lock). Raises LockLost if ``token`` no longer holds the lock."""
        if not claims:
            return Claimed([], [])
        args: list[Any] = [token or "", grace, self.history_length, self.beat_name]
        for claim in claims:
            overlap, timeout = overlap_of(claim.entry)
            args += [claim.slot, claim.before_meta, claim.after_meta, claim.after_score]
            args += [claim.task_id, overlap, timeout]
            args += ["" if claim.run_slot is None else claim.run_slot, claim.missed_count]
            args.append(self._missed_records(claim))
        keys_ = [self.lock_key or self.schedule_key, self.schedule_key]
        reply = self._claim(keys=keys_ + self._keys(claims), args=args)
        if reply == -1:
            raise LockLost(self.lock_key)
        now = redis_time(reply[0], reply[1])
        results = list(zip(claims, reply[2:], strict=True))
        by_result: dict[int, list[Claim]] = {code: [] for code in range(6)}
        for claim, result in results:
            by_result[result].append(claim)
        if by_result[0]:
            runs_skipped.send(
                sender=self, entries=[c.entry.name for c in by_result[0]], reason="claimed"
            )
        if by_result[3]:
            runs_skipped.send(
                sender=self, entries=[c.entry.name for c in by_result[3]], reason="overlap"
            )
        # the slots a catch-up gave up, once per slot, from every claim that wrote its decision
        caught_up = [
            claim.entry.name
            for claim, result in results
            if result not in (0, 2)
            for _ in range(claim.missed_count)
        ]
        if caught_up:
            for name in sorted(set(caught_up)):
                logger.warning(
                    "beat: %s missed %d runs (its catch-up policy)", name, caught_up.count(name)
                )
            runs_missed.send(sender=self, entries=caught_up)
        return Claimed(
            won=by_result[1],
            not_yet=[claim.checked_slot + grace - now for claim in by_result[2]],
            skipped=by_result[3],
            buffered=by_result[4],
            missed=by_result[5],
        )

    def _missed_records(self, claim: Claim) -> str:
        """The history records of a claim's missed slots (the newest the history keeps), oldest
        first, one per line."""
        kept = claim.missed[-self.history_length :] if self.history_length else ()
        return "\n".join(
            f'{{"scheduled_at":{slot},"outcome":"missed","reason":"{reason}"}}'
            for slot, reason in kept
        )

    def overdue(self, grace: float, limit: int) -> Overdue:
        """The slots overdue by more than ``grace`` seconds on Redis's clock (at most
        ``limit``), with the lock's token: one script call."""
        keys_ = [self.schedule_key, self.lock_key or self.schedule_key]
        seconds, microseconds, token, flat = self._overdue(keys=keys_, args=[grace, limit + 1])
        slots = dict(zip(flat[: 2 * limit : 2], map(float, flat[1 : 2 * limit : 2]), strict=True))
        return Overdue(
            now=redis_time(seconds, microseconds),
            lock_token=token or None,
            slots=slots,
            truncated=len(flat) > 2 * limit,
        )

    def undo(self, claims: list[Claim], outcome: str = "") -> None:
        """Give slots back (their sends failed) so the next tick sends them again: their
        history records go too. With an ``outcome`` (JSON: the value, then members of its
        own), the slots are not given back but their records say it."""
        if not claims:
            return
        args: list[Any] = [outcome]
        for claim in claims:
            args += [claim.after_score, claim.after_meta, claim.slot, claim.before_meta]
            args.append(claim.task_id)
        self._undo(keys=[self.schedule_key, *self._keys(claims)], args=args)

    def count_missed(self, claims: list[Claim]) -> None:
        """Count slots given up on in the entry hash (a field celery-redbeat never reads), and
        say so in their history records."""
        if not claims:
            return
        self.undo(claims, outcome='"missed","reason":"send_failed"')
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


def overlap_of(entry: Any) -> tuple[str, int]:
    """The claim's overlap arguments for an entry: its policy ('' for allow, the default) and
    how long its running marker lives, in milliseconds."""
    policy = entry.policy
    if policy.overlap == "allow":
        return "", 0
    return policy.overlap, int(policy.overlap_timeout * 1000)


def redis_time(seconds: Any, microseconds: Any) -> float:
    """Redis's ``TIME`` as UNIX seconds."""
    return int(seconds) + int(microseconds) / 1_000_000
