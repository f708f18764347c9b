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
from itertools import chain
from typing import Any

from django_redbeat.decoder import dumps
from django_redbeat.store import keys
from django_redbeat.store.connection import plain

#: What save_many writes of an entry: its key, its hash fields' values, the meta to write if it
#: has none, its score.
Row = tuple[str, Sequence[str], str, int]

#: Entries per script call (the write's ZADD takes two arguments per entry, and Lua's unpack at
#: most about 8,000).
CHUNK = 1000

#: KEYS[1] the schedule key, KEYS[2..] entry keys; ARGV the hash fields to read.
#: Returns, for each entry that has any of them or a score, its position (from 1, among the
#: entry keys), the values of those fields, then its score (nil where missing), one after the
#: other: entries that have nothing (all those of an import into an empty Redis) cost no reply.
READ_STORED = """
local stored = {}
for i = 2, #KEYS do
    local values = redis.call('HMGET', KEYS[i], unpack(ARGV))
    local score = redis.call('ZSCORE', KEYS[1], KEYS[i])
    local found = score
    for f = 1, #ARGV do
        found = found or values[f]
    end
    if found then
        stored[#stored + 1] = i - 1
        for f = 1, #ARGV do
            stored[#stored + 1] = values[f]
        end
        stored[#stored + 1] = score
    end
end
return stored
"""

#: KEYS[1] the schedule key, KEYS[2..] entry keys. ARGV[1] a channel to publish ARGV[2] on once
#: written ('' for none), ARGV[3] n, how many hash fields each entry writes, ARGV[4 .. n + 3]
#: their names. Each entry has n + 1 values: its fields', then the meta to write if it has none.
#: ARGV[n + 4] says for each of those n + 1 whether it is the same for every entry ("1", given
#: once, next) or not ("0"); then for each entry the values not given once, and its score.
#: A field whose value is '' is removed, not written (a policy back to the default).
WRITE_ENTRIES = """
local n = tonumber(ARGV[3])
local at = n + 5
local value, varying, scores = {}, {}, {}
for c = 1, n + 1 do
    if string.sub(ARGV[n + 4], c, c) == '1' then
        value[c] = ARGV[at]
        at = at + 1
    else
        varying[#varying + 1] = c
    end
end
for i = 2, #KEYS do
    for _, c in ipairs(varying) do
        value[c] = ARGV[at]
        at = at + 1
    end
    local fields, unset = {}, {}
    for f = 1, n do
        if value[f] == '' then
            -- asked only where it is there: a policy-less entry gets the writes it always had
            if redis.call('HEXISTS', KEYS[i], ARGV[3 + f]) == 1 then
                unset[#unset + 1] = ARGV[3 + f]
            end
        else
            fields[#fields + 1] = ARGV[3 + f]
            fields[#fields + 1] = value[f]
        end
    end
    redis.call('HSET', KEYS[i], unpack(fields))
    if #unset > 0 then
        redis.call('HDEL', KEYS[i], unpack(unset))
    end
    redis.call('HSETNX', KEYS[i], 'meta', value[n + 1])
    scores[#scores + 1] = ARGV[at]
    scores[#scores + 1] = KEYS[i]
    at = at + 1
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
    size = len(names) + 2  # an entry's part of a reply: position, values, score
    stored: list[tuple[list[str | None], float | None]] = [
        ([None] * len(names), None) for _ in entry_keys
    ]
    for start in range(0, len(entry_keys), CHUNK):
        chunk = entry_keys[start : start + CHUNK]
        found = read(keys=[schedule_key, *chunk], args=list(names))
        for at in range(0, len(found), size):
            position, *values, score = found[at : at + size]
            stored[start + position - 1] = (values, None if score is None else float(score))
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
        args = [channel if last else "", keys.WAKEUP_MESSAGE, len(names), *names, *_values(chunk)]
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


def _values(chunk: Sequence[Row]) -> list[Any]:
    """WRITE_ENTRIES' arguments after the names: a value that every entry of the chunk has
    (its mark, a new entry's meta) is sent once, not once per entry."""
    columns = list(zip(*((*values, meta) for _, values, meta, _ in chunk), strict=True))
    same = [len(set(column)) == 1 for column in columns]
    varying = [column for column, shared in zip(columns, same, strict=True) if not shared]
    scores = [score for _, _, _, score in chunk]
    return [
        "".join("1" if shared else "0" for shared in same),
        *(column[0] for column, shared in zip(columns, same, strict=True) if shared),
        *chain.from_iterable(zip(*varying, scores, strict=True)),
    ]


def _is_cluster(client: Any) -> bool:
    from redis.cluster import RedisCluster

    return isinstance(plain(client), RedisCluster)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
