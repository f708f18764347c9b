"""Counting Redis round trips, to show what a tick or a page costs."""

from __future__ import annotations

from typing import Any

import redis


class RoundTripCounter:
    """Wraps a redis client and counts round trips: one per command, one per pipeline run."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.round_trips = 0

    def __getattr__(self, item: str) -> Any:
        attribute = getattr(self.client, item)
        if not callable(attribute) or item in ("pipeline", "register_script"):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.round_trips += 1
            return attribute(*args, **kwargs)

        return counted

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        pipe = self.client.pipeline(*args, **kwargs)
        execute = pipe.execute

        def counted_execute(*a: Any, **kw: Any) -> Any:
            self.round_trips += 1
            return execute(*a, **kw)

        pipe.execute = counted_execute
        return pipe

    def register_script(self, script: str) -> Any:
        registered = self.client.register_script(script)  # sends nothing yet

        def counted_call(keys: Any = (), args: Any = ()) -> Any:
            self.round_trips += 1
            return registered(keys=keys, args=args)

        return counted_call
