"""Many entries read and written by script calls, not pipelines: the Redis side of
:meth:`RedBeatSchedulerEntry.save_many`, and the reads of stored entries elsewhere (the admin's
run state, ``redbeat_sync``'s comparison).

A pipeline costs redis-py its full per-command work (packing, parsing, callbacks) for each of
the three or four commands an entry needs; one script call per chunk of entries is one command,
and the per-entry work runs inside Redis. Chunks bound how long each call holds Redis (about a
millisecond for a thousand entries), and so how long a beat's tick may wait behind an import.
All keys are passed as KEYS, so a Cluster (one hash-tagged prefix, one slot) runs them too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django_redbeat import keys
from django_redbeat.decoder import dumps

#: What save_many writes of an entry: its key, its hash fields' values, the meta to write if it
#: has none, its score.
Row = tuple[str, Sequence[str], str, int]

#: Entries per script call (the write's ZADD takes two arguments per entry, and Lua's unpack at
#: most about 8,000).
CHUNK = 1000

#: KEYS[1] the schedule key, KEYS[2..] entry keys; ARGV the hash fields to read.
#: Returns for each entry the values of those fields, then its score (nil where missing).
READ_STORED = """
local stored = {}
for i = 2, #KEYS do
    local values = redis.call('HMGET', KEYS[i], unpack(ARGV))
    values[#ARGV + 1] = redis.call('ZSCORE', KEYS[1], KEYS[i])
    stored[i - 1] = values
end
return stored
"""

#: KEYS[1] the schedule key, KEYS[2..] entry keys. ARGV[1] a channel to publish ARGV[2] on once
#: written ('' for none), ARGV[3] n, how many hash fields each entry writes, ARGV[4 .. n + 3]
#: their names; then for each entry its n values, the meta to write if it has none, its score.
WRITE_ENTRIES = """
local n = tonumber(ARGV[3])
local at = n + 4
local scores = {}
for i = 2, #KEYS do
    local fields = {}
    for f = 1, n do
        fields[2 * f - 1] = ARGV[3 + f]
        fields[2 * f] = ARGV[at + f - 1]
    end
    redis.call('HSET', KEYS[i], unpack(fields))
    redis.call('HSETNX', KEYS[i], 'meta', ARGV[at + n])
    scores[#scores + 1] = ARGV[at + n + 1]
    scores[#scores + 1] = KEYS[i]
    at = at + n + 2
end
redis.call('ZADD', KEYS[1], unpack(scores))
if ARGV[1] ~= '' then
    redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return #KEYS - 1
"""


def read_stored(
    client: Any, schedule_key: str, entry_keys: Sequence[str], names: Sequence[str]
) -> list[tuple[list[str | None], float | None]]:
    """Each entry's stored values of the named fields, and its score (None where missing)."""
    read = client.register_script(READ_STORED)
    stored: list[tuple[list[str | None], float | None]] = []
    for chunk in _chunks(entry_keys):
        for *values, score in read(keys=[schedule_key, *chunk], args=list(names)):
            stored.append((values, None if score is None else float(score)))
    return stored


def write(client: Any, conf: Any, names: Sequence[str], rows: Sequence[Row]) -> None:
    """Write each (key, values of ``names``, meta if it has none, score), then wake beat: a
    message on the prefix's wake-up channel, published after the writes so that beat wakes to
    the new state (by the last script call; apart on a Cluster, where redis-py sends keyless
    commands on their own)."""
    channel = keys.wakeup_channel(conf.key_prefix)
    in_script = not _is_cluster(client)
    script = client.register_script(WRITE_ENTRIES)
    chunks = list(_chunks(rows))
    for number, chunk in enumerate(chunks, 1):
        last = number == len(chunks) and in_script
        args: list[Any] = [channel if last else "", keys.WAKEUP_MESSAGE, len(names), *names]
        for _, values, meta, score in chunk:
            args += [*values, meta, score]
        script(keys=[conf.schedule_key, *(key for key, _, _, _ in chunk)], args=args)
    if not in_script:
        client.publish(channel, keys.WAKEUP_MESSAGE)


class NewMeta(dict):
    """A new entry's meta JSON by its last run: a batch made at one time (an import) encodes
    it once, not once per entry. Keyed by the zone too: equal moments in two zones are
    written each in its own."""

    def __getitem__(self, last_run_at: datetime | None) -> str:
        return super().__getitem__((last_run_at, getattr(last_run_at, "tzinfo", None)))

    def __missing__(self, key: tuple[datetime | None, Any]) -> str:
        self[key] = meta = dumps({"last_run_at": key[0]})
        return meta


def _is_cluster(client: Any) -> bool:
    from redis.cluster import RedisCluster

    return isinstance(getattr(client, "wrapped_connection", client), RedisCluster)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
