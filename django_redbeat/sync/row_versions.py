"""The marks on the entries the database owns, and the check a starting beat makes with them.

Each entry written from a PeriodicTask carries, beside ``definition`` and ``meta``, the mark
``MANAGED_FIELD`` and its version (``VERSION_FIELD``): a digest of exactly the row's values it
is built from, and the SHA-1 of the definition written with them. A starting beat reads the rows
(``values_list``, no entry built) and has Redis compare each version (:func:`stale`): only the
entries that differ are written again. The version comes from the row's values, not from when
it was saved, so a row changed by ``QuerySet.update()``, raw SQL or a sync that failed gets
another, and a definition written since by other code no longer matches its SHA-1.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from celery import Celery

from django_redbeat.exceptions import InvalidEntryName
from django_redbeat.models import PeriodicTask
from django_redbeat.store import keys
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf

#: The hash field that marks an entry as the database's, and its value.
MANAGED_FIELD = "managed_by"
MANAGED_BY = "django_redbeat"
#: The hash field that holds the version the entry was written at (:func:`stamp`).
VERSION_FIELD = "managed_version"

#: The PeriodicTask fields an entry is built from (``sync.entry_for``: the schedule and the
#: options included), in the order of a version's values.
ENTRY_FIELDS = (
    "name", "task", "args", "kwargs", "enabled", "queue", "exchange", "routing_key", "priority",
    "headers", "extra_options", "expires", "expire_seconds", "one_off", "start_time", "kind",
    "every", "period", "minute", "hour", "day_of_week", "day_of_month", "month_of_year",
    "rrule", "timezone", "solar_event", "latitude", "longitude", "run_at", "catch_up",
    "catch_up_window", "catch_up_limit", "overlap",
    "overlap_timeout", "jitter", "end_time", "max_runs", "pause_after_failures", "paused_at",
    "paused_by", "paused_reason",
)  # fmt: skip
_entry_values = operator.attrgetter(*ENTRY_FIELDS)
#: Part of every version: change it when the same row gives another entry (``entry_for``, the
#: wire format), and a starting beat writes every entry again.
ENTRY_FORMAT = "1"
#: The version of a row that cannot be digested, or of an entry written from no row: the
#: entry is written again by every starting beat.
UNKNOWN = ""
#: Entries per script call of :func:`stale` (bounded so one call never holds Redis long).
READ_CHUNK = 2000

#: KEYS[1] the schedule key, KEYS[2..] entry keys; ARGV[1] MANAGED_FIELD, ARGV[2] MANAGED_BY,
#: ARGV[3] VERSION_FIELD, then for each entry key "1" (enabled) or "0" (disabled) followed by
#: its row's version. Returns the positions (from 1, among the entry keys) of the entries to
#: write again: missing, not marked as the database's, written at another version of the row
#: or with another definition since (see :func:`stamp`), out of the schedule, or disabled and
#: scheduled to run.
FIND_STALE = """
local stale = {}
for i = 2, #KEYS do
    local stored = redis.call('HMGET', KEYS[i], ARGV[1], ARGV[3], 'definition')
    local score = redis.call('ZSCORE', KEYS[1], KEYS[i])
    local wanted = ARGV[i + 2]
    if stored[1] ~= ARGV[2] or not stored[3] or not score
        or stored[2] ~= string.sub(wanted, 2) .. ':' .. redis.sha1hex(stored[3])
        or (string.sub(wanted, 1, 1) == '0' and tonumber(score) ~= -1) then
        stale[#stale + 1] = i - 1
    end
end
return stale
"""


def _plain(value: Any) -> Any:
    # a moment as the database gives it back: in UTC (an aware one may be in any zone before)
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat()
    return str(value)


#: One encoder for every version (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_plain)


def salt(app: Celery) -> str:
    """What every version of this app includes besides the row: the format and the time zone.

    The zone gives the due time of schedules without a zone of their own: when it changes, a
    starting beat writes every entry again, which schedules them in the new zone.
    """
    return f"{ENTRY_FORMAT}|{app.conf.timezone}|{app.conf.enable_utc}|"


def of_values(values: Sequence[Any], salt: str) -> str:
    """The version of a row given its ENTRY_FIELDS values (UNKNOWN if they cannot be encoded)."""
    try:
        text = _ENCODER.encode(values)
    except (TypeError, ValueError):
        return UNKNOWN
    return hashlib.blake2b((salt + text).encode(), digest_size=16).hexdigest()


def of_tasks(tasks: Iterable[PeriodicTask], app: Celery) -> dict[str, str]:
    """Each task's version, by name (its values a tuple: encoded as the row's list is)."""
    app_salt = salt(app)
    return {task.name: of_values(_entry_values(task), app_salt) for task in tasks}


def stamp(version: str, definition: str) -> str:
    """What an entry's VERSION_FIELD holds: its row's version and the SHA-1 of the definition
    written with it, so that a definition written since by other code (celery-redbeat, an
    entry's own ``save()``) no longer matches (FIND_STALE checks both)."""
    digest = hashlib.sha1(definition.encode(), usedforsecurity=False).hexdigest()
    return f"{version}:{digest}"


def stale(rows: Iterable[Sequence[Any]], app: Celery) -> Iterator[Any]:
    """The pks of the rows (pk, *ENTRY_FIELDS values) whose entry is not as written from them:
    one script call per READ_CHUNK entries (RedisError if Redis is down)."""
    config = ensure_conf(app)
    app_salt = salt(app)
    enabled = 1 + ENTRY_FIELDS.index("enabled")
    checked = []  # (pk, key, "1" or "0" for enabled, version)
    for row in rows:
        version = of_values(row[1:], app_salt)
        if version == UNKNOWN or not _valid_name(row[1]):
            yield row[0]  # written again (an invalid one fails, and is reported)
        else:
            on = "1" if row[enabled] else "0"
            checked.append((row[0], config.key_prefix + row[1], on, version))
    # a script, not a pipeline of two reads per entry: redis-py handles one command per chunk
    find = get_redis(app).register_script(FIND_STALE)
    for start in range(0, len(checked), READ_CHUNK):
        chunk = checked[start : start + READ_CHUNK]
        found = find(
            keys=[config.schedule_key, *(key for _, key, _, _ in chunk)],
            args=[MANAGED_FIELD, MANAGED_BY, VERSION_FIELD, *(on + v for _, _, on, v in chunk)],
        )
        yield from (chunk[position - 1][0] for position in found)


def _valid_name(name: str) -> bool:
    try:
        keys.validate_entry_name(name)
    except InvalidEntryName:
        return False
    return True
