"""Each entry's run history: its last N runs, in a capped Redis list beside its hash.

The list is ``<prefix>:history:<name>`` (store/keys.py), newest first, trimmed to
``redbeat_history_length`` records (0 keeps none). Its records are written where the run is
decided, inside the scripts beat already calls (the claim, slot_claims.py), so that history costs
no round trip of its own; the worker hook (worker_hook.py) then writes the run's outcome into the
record of its task id. A record is a JSON object:

- ``scheduled_at``: the slot, UNIX seconds; ``outcome``: sent, started, succeeded, failed,
  retried, revoked (a sent run), or skipped, buffered, missed (a slot not sent then), with a
  ``reason`` for the last three (overlap, send_failed...);
- a sent run also has ``task_id``, ``beat`` (the host and pid that sent it), ``sent_at`` and
  ``lateness`` (seconds, on Redis's clock), and once the worker hook reports, ``started_at``,
  ``finished_at``, ``runtime`` (seconds, Redis's clock too) and ``error`` (the exception's name).

The counters are hash fields of the entry that celery-redbeat never reads: ``skipped_run_count``,
``missed_run_count``, ``failed_run_count`` (and ``consecutive_failures``, which a success resets).
An entry's ``definition`` and ``meta`` are written as before, history or not.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django_redbeat.store import keys

logger = logging.getLogger(__name__)

#: The hash field of an entry that paused itself (pause.py): JSON, its reason, at, by.
PAUSED_FIELD = "paused"
SKIPPED_FIELD = "skipped_run_count"
MISSED_FIELD = "missed_run_count"
FAILED_FIELD = "failed_run_count"
CONSECUTIVE_FAILURES_FIELD = "consecutive_failures"
COUNTER_FIELDS = (SKIPPED_FIELD, MISSED_FIELD, FAILED_FIELD, CONSECUTIVE_FAILURES_FIELD)

#: Outcomes after which a run is over (its running marker goes).
FINAL_OUTCOMES = frozenset({"succeeded", "failed", "revoked"})

#: Lua: ``remember(history, length, record)`` pushes a record and trims the list to ``length``
#: (0: nothing is kept). ``with_outcome(record, tail, now)`` is the record with its outcome part
#: (``"outcome"`` is always its first key after the send's) replaced by ``tail`` (JSON: the
#: outcome's value, then members of its own); the time it started is kept, and ``now`` is written
#: as ``started_at`` for a started run, ``finished_at`` (with the runtime) for a finished one.
#: ``find_record(history, task_id)`` is the index and record of a task id's run, or nil.
#: Plain string work, not cjson: cjson writes 14 significant digits, which would cut
#: microseconds off the times.
LUA = """
local function remember(history, length, record)
    if length > 0 then
        redis.call('LPUSH', history, record)
        redis.call('LTRIM', history, 0, length - 1)
    end
end
local function with_outcome(record, tail, outcome, now)
    local head, old = string.match(record, '^(.-),"outcome":(.*)$')
    if not head then
        return nil
    end
    local started = string.match(old, '"started_at":([%d%.]+)')
    if outcome == 'started' then
        started = now
    end
    local times = started and (',"started_at":' .. started) or ''
    if outcome == 'succeeded' or outcome == 'failed' or outcome == 'revoked' then
        times = times .. ',"finished_at":' .. now
        if started then
            times = times .. string.format(',"runtime":%.6f', tonumber(now) - tonumber(started))
        end
    end
    return head .. ',"outcome":' .. tail .. times .. '}'
end
local function find_record(history, task_id)
    local needle = '"task_id":"' .. task_id .. '"'
    for i, record in ipairs(redis.call('LRANGE', history, 0, -1)) do
        if string.find(record, needle, 1, true) then
            return i - 1, record
        end
    end
    return nil, nil
end
local function stamp(time)
    return time[1] .. '.' .. string.format('%06d', tonumber(time[2]))
end
"""


@dataclass
class RunHistory:
    """One entry's history (newest first) and counters, as read from Redis."""

    records: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    paused: dict[str, Any] | None = None  # why, when and by whom it paused itself

    @property
    def last_outcome(self) -> str | None:
        return self.records[0].get("outcome") if self.records else None


def queue_read(pipe: Any, prefix: str, name: str, records: bool = True) -> None:
    """Queue the reads of an entry's counters (and its records) on a pipeline."""
    pipe.hmget(keys.entry_key(prefix, name), *COUNTER_FIELDS, PAUSED_FIELD)
    pipe.lrange(keys.history_key(prefix, name), 0, -1 if records else 0)


def from_replies(counters: list[Any], records: list[Any]) -> RunHistory:
    """A RunHistory from the two replies :func:`queue_read` queued; an unreadable record is
    logged and left out."""
    *counts, paused = counters
    found = RunHistory(
        counters=dict(zip(COUNTER_FIELDS, (int(n or 0) for n in counts), strict=True)),
        paused=paused_reason(paused),
    )
    for raw in records:
        try:
            record = json.loads(raw)
        except ValueError as exc:
            logger.warning("An unreadable run history record was left out: %s", exc)
            continue
        if isinstance(record, dict):
            found.records.append(record)
    return found


def read(client: Any, prefix: str, names: list[str], records: bool = True) -> list[RunHistory]:
    """The history and counters of each named entry, in one round trip (only the newest
    record of each without ``records``)."""
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            queue_read(pipe, prefix, name, records)
        replies = pipe.execute()
    return [from_replies(*replies[at : at + 2]) for at in range(0, len(replies), 2)]


def paused_reason(stored: str | None) -> dict[str, Any] | None:
    """The ``paused`` field decoded (None if absent or unreadable)."""
    try:
        found = json.loads(stored) if stored else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
