"""What ``manage.py redbeat_status`` reports: the lock, the schedule, and Redis settings that put
it at risk. Read in a few round trips, whatever the number of entries; it writes nothing.

The report is a plain dict (what ``--json`` prints). The Redis URL in it has its password masked.
"""

from __future__ import annotations

import json
from typing import Any

from celery import Celery
from redis.exceptions import ResponseError

from django_redbeat.beat import run_history
from django_redbeat.beat.entry import NEVER
from django_redbeat.decoder import from_timestamp, to_timestamp
from django_redbeat.store import keys
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.store.redis_urls import safe_url

#: An entry due for longer than this (seconds) is overdue: no beat is sending it.
OVERDUE_AFTER = 60

#: maxmemory-policy values that may evict any key, and so the schedule's entries.
EVICTING_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random")


def report(app: Celery, count: int = 10, overdue_after: float = OVERDUE_AFTER) -> dict[str, Any]:
    """The status of the schedule (RedisError if Redis cannot be read)."""
    conf = ensure_conf(app)
    now = to_timestamp(app.now())
    status: dict[str, Any] = {
        "now": from_timestamp(now).isoformat(),
        "redis": {"url": safe_url(conf.redis_url), **redis_settings(app)},
        "key_prefix": conf.key_prefix,
    }
    status.update(_schedule(app, now, overdue_after))
    status["next"] = next_entries(app, now, count)
    status["risks"] = risks(status, overdue_after)
    return status


def _schedule(app: Celery, now: int, overdue_after: float) -> dict[str, Any]:
    conf = ensure_conf(app)
    with get_redis(app).pipeline(transaction=False) as pipe:
        pipe.zcard(conf.schedule_key)
        pipe.zcount(conf.schedule_key, NEVER, NEVER)
        pipe.zcount(conf.schedule_key, 0, now)
        pipe.zcount(conf.schedule_key, 0, f"({now - overdue_after}")
        pipe.scard(conf.statics_key)
        if conf.lock_key:
            pipe.get(conf.lock_key)
            pipe.pttl(conf.lock_key)
        total, never, due, overdue, statics, *lock = pipe.execute()
    entries = {
        "total": total, "scheduled": total - never, "disabled_or_finished": never,
        "due": due, "overdue": overdue, "static": statics,
    }  # fmt: skip
    return {"entries": entries, "lock": _lock(conf.lock_key, *lock)}


def _lock(key: str | None, token: str | None = None, pttl: int = -2) -> dict[str, Any]:
    if key is None:
        return {"key": None, "held": False}
    found: dict[str, Any] = {"key": key, "held": token is not None, "holder": token}
    if token is not None:
        host, pid = holder_of(token)
        found.update(host=host, pid=pid, ttl=pttl / 1000 if pttl >= 0 else None)
    return found


def holder_of(token: str) -> tuple[str | None, int | None]:
    """The host and pid in a lock token (``host:pid:random``); None, None for another form
    (celery-redbeat's tokens are random)."""
    parts = token.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1])
    return None, None


def next_entries(app: Celery, now: int, count: int) -> list[dict[str, Any]]:
    """The ``count`` entries due first (overdue ones included), with their task names."""
    if count <= 0:
        return []
    conf = ensure_conf(app)
    client = get_redis(app)
    upcoming = client.zrangebyscore(conf.schedule_key, 0, "+inf", 0, count, withscores=True)
    names = [keys.entry_name(conf.key_prefix, key) for key, _score in upcoming]
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hget(keys.entry_key(conf.key_prefix, name), "definition")
            run_history.queue_read(pipe, conf.key_prefix, name, records=False)
        replies = pipe.execute()
    return [
        {
            "name": name,
            "task": _task_of(replies[3 * at]),
            "due_at": from_timestamp(score).isoformat(),
            "due_in": score - now,
            **_runs(run_history.from_replies(*replies[3 * at + 1 : 3 * at + 3])),
        }
        for at, (name, (_key, score)) in enumerate(zip(names, upcoming, strict=True))
    ]


def _runs(history: run_history.RunHistory) -> dict[str, Any]:
    """An entry's counters and last outcome, as the report shows them."""
    return {"counters": history.counters, "last_outcome": history.last_outcome}


def _task_of(definition: str | None) -> str | None:
    try:
        return json.loads(definition or "null")["task"]
    except (ValueError, TypeError, KeyError):
        return None  # missing or unreadable: beat logs and skips it


def redis_settings(app: Celery) -> dict[str, Any]:
    """Version, eviction policy and persistence; None where the server does not say
    (CONFIG is often disabled on managed Redis: INFO is used then)."""
    client = get_redis(app)
    memory = _info(client, "memory")
    found: dict[str, Any] = {
        "version": _info(client, "server").get("redis_version"),
        "maxmemory": memory.get("maxmemory"),
        "maxmemory_policy": memory.get("maxmemory_policy"),
        "aof": None,
        "rdb_save": None,
    }
    config = _config(client, "appendonly", "save")
    if "appendonly" in config:
        found["aof"] = config["appendonly"] == "yes"
        found["rdb_save"] = config.get("save")
    else:
        aof = _info(client, "persistence").get("aof_enabled")
        found["aof"] = None if aof is None else bool(aof)
    return found


def _info(client: Any, section: str) -> dict[str, Any]:
    try:
        info = client.info(section)
    except ResponseError:  # INFO renamed or not allowed to this user
        return {}
    return info if isinstance(info, dict) else {}


def _config(client: Any, *names: str) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        for name in names:  # one name per CONFIG GET: Redis 6.2 takes no more
            found.update(client.config_get(name) or {})
    except ResponseError:  # CONFIG disabled or renamed
        return {}
    return found


def risks(status: dict[str, Any], overdue_after: float) -> list[str]:
    """What puts the schedule at risk, in words."""
    found = []
    redis = status["redis"]
    if redis.get("maxmemory_policy") in EVICTING_POLICIES and redis.get("maxmemory"):
        found.append(
            f"maxmemory-policy is {redis['maxmemory_policy']}: when Redis reaches maxmemory it "
            "may evict the schedule's entries. Use noeviction (or volatile-*) for this database."
        )
    if redis.get("aof") is False and redis.get("rdb_save") == "":
        found.append(
            "Redis persists nothing (no RDB snapshots, no AOF): a restart loses every entry's run "
            "state and the static entries. Beat writes the database's tasks again when it starts."
        )
    lock, overdue = status["lock"], status["entries"]["overdue"]
    if overdue and not (lock["key"] and lock["held"]):
        found.append(
            f"{overdue} entries are overdue by more than {overdue_after:g} s and no beat holds "
            "the lock: is beat (manage.py redbeat_run) running?"
        )
    return found
