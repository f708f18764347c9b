"""Counts Redis round trips in this process: each packet redis-py sends is one (a command, a
whole pipeline, a script call). Counting at the connection sees every client, ours or a peer's."""

from __future__ import annotations

from typing import Any

from redis.connection import AbstractConnection

_count = 0


def install() -> None:
    original = AbstractConnection.send_packed_command
    if getattr(original, "bench_counted", False):
        return

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> Any:
        global _count
        _count += 1
        return original(self, command, check_health)

    send_packed_command.bench_counted = True  # type: ignore[attr-defined]
    AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]


def count() -> int:
    return _count
