"""``redbeat_status``'s report in words, line by line: what the command prints and what the
admin's status page shows."""

from __future__ import annotations

from typing import Any


def storage_text(redis: dict[str, Any]) -> str:
    memory = (
        f"maxmemory {redis['maxmemory'] or 'unlimited'}, "
        f"maxmemory-policy {redis['maxmemory_policy'] or 'unknown'}"
    )
    rdb = {None: "RDB unknown (CONFIG not allowed)", "": "no RDB snapshots"}.get(
        redis["rdb_save"], f"RDB save {redis['rdb_save']!r}"
    )
    aof = {None: "AOF unknown", True: "AOF on", False: "AOF off"}[redis["aof"]]
    return f"{memory}; {rdb}, {aof}"


def lock_text(lock: dict[str, Any]) -> str:
    if lock["key"] is None:
        return "none (REDBEAT_LOCK_KEY is None: every beat sends)"
    if not lock["held"]:
        return f"{lock['key']} is free: no beat is sending"
    holder = f"{lock['host']} (pid {lock['pid']})" if lock.get("pid") else repr(lock["holder"])
    expiry = f", expires in {lock['ttl']:.1f} s" if lock.get("ttl") is not None else ""
    return f"{lock['key']} held by {holder}{expiry}"


def entries_text(entries: dict[str, Any]) -> str:
    return (
        f"{entries['total']} ({entries['scheduled']} scheduled, "
        f"{entries['disabled_or_finished']} disabled or finished, {entries['static']} "
        f"static); {entries['due']} due now, {entries['overdue']} overdue"
    )


def due_text(seconds: float) -> str:
    """When a next entry is due, from its ``due_in``."""
    return f"in {seconds:.0f} s" if seconds > 0 else f"due {-seconds:.0f} s ago"
