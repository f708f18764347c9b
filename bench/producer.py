"""The producer every scheduler sends through: messages built in full, then dropped.

``drop://`` is kombu's in-memory transport with one change: the last step, putting the message
on a queue, counts it instead. Everything before it runs as with a real broker (Celery builds
the task message and its headers, kombu serializes the body to JSON, encodes it, routes it
through the exchange), so a send costs what it costs in production minus the network, and
memory does not grow with what was sent. The three schedulers share this Celery app config.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Celery, Task
from kombu.transport import TRANSPORT_ALIASES, memory

TRANSPORT_ALIASES["drop"] = "bench.producer:DropTransport"

#: The task every entry sends.
TASK = "bench.noop"


class OutOfTime(BaseException):
    """Raised from a send once the case's time budget is spent (a BaseException, so no
    scheduler's ``except Exception`` around a send swallows it)."""


class Sends:
    """Counts the messages dropped and the time spent in Celery's send; optionally stops the run
    at a deadline."""

    count = 0
    seconds = 0.0  # in Task.apply_async: what any scheduler pays Celery per message
    deadline: float | None = None
    last_at: float | None = None

    @classmethod
    def record(cls) -> None:
        cls.count += 1
        cls.last_at = time.perf_counter()
        if cls.deadline is not None and cls.last_at > cls.deadline:
            raise OutOfTime


class TimedTask(Task):
    """Times Celery's send, which every scheduler calls to send an entry (``Task.apply_async``),
    so a scheduler's own part of a send is what is left."""

    def apply_async(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().apply_async(*args, **kwargs)
        finally:
            Sends.seconds += time.perf_counter() - started


class DropChannel(memory.Channel):
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        Sends.record()

    def _put_fanout(self, exchange: str, message: Any, routing_key: str, **kwargs: Any) -> None:
        Sends.record()


class DropTransport(memory.Transport):
    Channel = DropChannel


def make_app(redis_url: str, **conf: Any) -> Celery:
    """The Celery app of a benchmark process: drop:// broker, schedule in ``redis_url``."""
    app = Celery("bench", set_as_current=True)
    app.conf.update(
        broker_url="drop://",
        redbeat_redis_url=redis_url,
        beat_schedule={},
        timezone="UTC",
        result_expires=None,  # no celery.backend_cleanup entry in any scheduler
        **conf,
    )

    @app.task(name=TASK, shared=False, base=TimedTask)
    def noop(*args: Any, **kwargs: Any) -> None:
        """What every entry sends."""

    return app
