"""When each task message reaches a Redis broker's queue: the lateness of every run, measured."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import redis

#: The header beat puts the scheduled time in (django_redbeat.beat.scheduler.SCHEDULED_AT_HEADER).
SCHEDULED_AT_HEADER = "redbeat_scheduled_at"


@dataclass(frozen=True)
class Send:
    slot: float  # the scheduled time in the message's header, UNIX seconds
    arrived: float  # when the message was first seen on the queue, UNIX seconds

    @property
    def lateness(self) -> float:
        return self.arrived - self.slot


class SendWatch:
    """Polls a broker queue every ``interval`` seconds in a thread and records each new message.

    Kombu pushes at the head of the list, so the messages already seen keep their places
    counted from the tail: one LRANGE returns exactly the new ones, atomically.
    """

    def __init__(self, broker: redis.Redis, queue: str = "celery", interval: float = 0.01):
        self.broker = broker
        self.queue = queue
        self.interval = interval
        self.sends: list[Send] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="send-watch", daemon=True)

    def __enter__(self) -> SendWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stopped.set()
        self._thread.join(5)

    def __len__(self) -> int:
        return len(self.sends)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            new = self.broker.lrange(self.queue, 0, -(len(self.sends) + 1))
            arrived = time.time()
            for raw in reversed(new):  # oldest first
                headers = json.loads(raw)["headers"]
                slot = datetime.fromisoformat(headers[SCHEDULED_AT_HEADER]).timestamp()
                self.sends.append(Send(slot, arrived))

    def slots(self) -> list[float]:
        return [send.slot for send in self.sends]

    def worst_lateness(self) -> float:
        return max(send.lateness for send in self.sends)

    def lost_slots(self, interval: float) -> list[tuple[Send, Send]]:
        """Pairs of consecutive runs of an entry every ``interval`` seconds between which a run
        is missing: the later slot is more than one interval after the earlier run went out
        (the next slot counts from the last run, and is never later than that)."""
        ordered = sorted(self.sends, key=lambda send: send.slot)
        pairs = zip(ordered, ordered[1:], strict=False)
        return [(a, b) for a, b in pairs if b.slot > a.arrived + interval]
