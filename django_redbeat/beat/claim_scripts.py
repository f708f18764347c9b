"""The Lua of slot claims (slot_claims.py): claim due slots, find overdue ones, give slots back.

Each script writes what a claim decides (run state, next due time, history record, running
marker) in the one call that decides it: nothing costs a round trip of its own.
"""

from __future__ import annotations

from django_redbeat.beat import run_history

#: KEYS[1] the lock key, KEYS[2] the schedule key, then three keys per entry: its hash, its
#: history and its running marker.
#: ARGV[1] this beat's lock token ('' claims without the lock: a standby, or beat without one);
#: ARGV[2] the grace: how many seconds Redis's clock must be past a slot to claim it (0 for the
#: holder); ARGV[3] the history length; ARGV[4] this beat's name (JSON); then for each entry
#: ten values: the slot (score read), the meta read, the new meta JSON, the new score, the
#: task id it is sent as, its overlap policy ('' allow, 'skip', 'buffer_one'), how long its
#: running marker lives (milliseconds), the slot the run goes out for ('' sends nothing: a
#: catch-up that only gives slots up, catch_up.py), how many slots the catch-up gave up and
#: their history records (one per line, oldest first).
#: Returns -1 if the lock is not ours (nothing written), else Redis's time (seconds,
#: microseconds) and per entry 1 (claimed), 0 (the slot was taken or the entry changed),
#: 2 (not due yet on Redis's clock: a beat whose clock runs fast must not send early), 3
#: (skipped: its previous run is still running), 4 (buffered until that run ends: the entry is
#: parked until its running marker expires, and the worker hook brings it back sooner) or 5
#: (nothing sent: the entry moved past the slots it missed).
CLAIM = (
    run_history.LUA
    + """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return -1
end
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local grace = tonumber(ARGV[2])
local length = tonumber(ARGV[3])
local results = {time[1], time[2]}
local function miss(key, history, arg)
    if ARGV[arg + 8] ~= '0' then
        redis.call('HINCRBY', key, 'missed_run_count', ARGV[arg + 8])
        for record in string.gmatch(ARGV[arg + 9], '[^\\n]+') do
            remember(history, length, record)
        end
    end
end
local function busy(key, history, running, arg, run)
    local slot = '{"scheduled_at":' .. run
    miss(key, history, arg)
    if ARGV[arg + 5] == 'skip' then
        redis.call('ZADD', KEYS[2], ARGV[arg + 3], key)
        redis.call('HINCRBY', key, 'skipped_run_count', 1)
        remember(history, length, slot .. ',"outcome":"skipped","reason":"overlap"}')
        return 3
    end
    if redis.call('HSETNX', key, 'buffered', run) == 1 then
        remember(history, length, slot .. ',"outcome":"buffered","reason":"overlap"}')
    end
    local ttl = math.max(redis.call('PTTL', running), 1000)
    redis.call('ZADD', KEYS[2], math.ceil(now + ttl / 1000), key)
    return 4
end
for e = 0, (#KEYS - 2) / 3 - 1 do
    local key, history, running = KEYS[3 + 3 * e], KEYS[4 + 3 * e], KEYS[5 + 3 * e]
    local arg = 5 + e * 10
    local score = redis.call('ZSCORE', KEYS[2], key)
    local run = ARGV[arg + 7]
    if not score or tonumber(score) ~= tonumber(ARGV[arg])
            or (redis.call('HGET', key, 'meta') or '') ~= ARGV[arg + 1] then
        results[#results + 1] = 0
    elseif tonumber(run ~= '' and run or ARGV[arg]) + grace > now then
        results[#results + 1] = 2
    elseif run == '' then
        redis.call('HSET', key, 'meta', ARGV[arg + 2])
        redis.call('ZADD', KEYS[2], ARGV[arg + 3], key)
        miss(key, history, arg)
        results[#results + 1] = 5
    elseif ARGV[arg + 5] ~= '' and redis.call('EXISTS', running) == 1 then
        results[#results + 1] = busy(key, history, running, arg, run)
    else
        redis.call('HSET', key, 'meta', ARGV[arg + 2])
        redis.call('ZADD', KEYS[2], ARGV[arg + 3], key)
        if ARGV[arg + 5] ~= '' then
            redis.call('SET', running, ARGV[arg + 4], 'PX', ARGV[arg + 6])
            redis.call('HDEL', key, 'buffered')
        end
        miss(key, history, arg)
        remember(history, length, '{"scheduled_at":' .. run .. ',"task_id":"'
            .. ARGV[arg + 4] .. '","beat":' .. ARGV[4] .. ',"sent_at":' .. stamp(time)
            .. string.format(',"lateness":%.6f', now - tonumber(run)) .. ',"outcome":"sent"}')
        results[#results + 1] = 1
    end
end
return results
"""
)

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

#: KEYS[1] the schedule key, then three keys per entry: its hash, history and running marker.
#: ARGV[1] the outcome to record for the runs given back ('' drops their history record), then
#: per entry five values: the score and meta the claim wrote, the slot and meta to restore, its
#: task id. An entry changed since the claim (edited, deleted) is left as it is; the record and
#: the running marker of the send that failed go in any case.
UNDO = (
    run_history.LUA
    + """
local time = redis.call('TIME')
for e = 0, (#KEYS - 1) / 3 - 1 do
    local key, history, running = KEYS[2 + 3 * e], KEYS[3 + 3 * e], KEYS[4 + 3 * e]
    local arg = 2 + e * 5
    local score = redis.call('ZSCORE', KEYS[1], key)
    if ARGV[1] == '' and score and tonumber(score) == tonumber(ARGV[arg])
            and redis.call('HGET', key, 'meta') == ARGV[arg + 1] then
        redis.call('ZADD', KEYS[1], ARGV[arg + 2], key)
        redis.call('HSET', key, 'meta', ARGV[arg + 3])
    end
    if redis.call('GET', running) == ARGV[arg + 4] then
        redis.call('DEL', running)
    end
    local at, record = find_record(history, ARGV[arg + 4])
    if at and ARGV[1] == '' then
        redis.call('LSET', history, at, '')
        redis.call('LREM', history, 1, '')
    elseif at then
        redis.call('LSET', history, at, with_outcome(record, ARGV[1], 'missed', stamp(time)))
    end
end
return 1
"""
)
