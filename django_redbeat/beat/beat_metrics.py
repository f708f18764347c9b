"""BeatMetrics: what one beat exports on its metrics endpoint.

Counters come from django-redbeat's own signals, so the scheduler carries no metrics code:
each send with its slot (hence its lateness), failed sends, missed and skipped runs and Redis
errors. (Not Celery's ``after_task_publish``: Celery before 5.5 keeps the receivers list it
found when the app first sent a task, so a receiver connected later may never be called.)
The receivers count what this process sends (a beat process runs one scheduler). Tick
durations are timed around the scheduler's ``tick``. The schedule's state (due, overdue, the
lock) is read from Redis at each scrape.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from redis.exceptions import RedisError

from django_redbeat import signals
from django_redbeat.beat.health import Health, TickWatch, holds_lock, judge
from django_redbeat.beat.metrics_server import MetricsServer
from django_redbeat.beat.schedule_collector import schedule_families
from django_redbeat.beat.schedule_state import ScheduleState, read_state
from django_redbeat.store.connection import brief_retries

#: The label of the entries counted together once ``redbeat_metrics_entry_labels`` are used.
OTHER_ENTRIES = "_other"

#: Seconds; a send is late by at least the fraction of a second its score rounds down.
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
TICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

#: Seconds a scrape waits for Redis before it reports it unreadable.
SCRAPE_RETRY_PERIOD = 1.0


class EntryLabels:
    """Entry names as label values: the first ``limit`` names seen keep theirs, later ones
    share :data:`OTHER_ENTRIES`, so the number of series stays bounded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._named: set[str] = set()
        self._guard = threading.Lock()

    def __call__(self, name: str | None) -> str:
        name = name or OTHER_ENTRIES
        with self._guard:
            if name in self._named:
                return name
            if len(self._named) < self.limit:
                self._named.add(name)
                return name
        return OTHER_ENTRIES


class BeatMetrics:
    def __init__(self, scheduler: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.scheduler = scheduler
        self.app = scheduler.app
        self.registry = CollectorRegistry()
        self.entry_label = EntryLabels(self.app.redbeat_conf.metrics_entry_labels)
        self.ticks = TickWatch(grace=scheduler.lock_timeout, clock=clock)
        self._clock = clock
        self._define(self.registry)
        self.registry.register(_StateCollector(self))
        self.server: MetricsServer | None = None
        self._receivers: list[tuple[Any, Callable[..., None]]] = []

    def _define(self, registry: CollectorRegistry) -> None:
        def counter(name: str, documentation: str, *labels: str) -> Counter:
            return Counter(name, documentation, labels, registry=registry)

        self.sent = counter("redbeat_runs_sent_total", "Runs sent to the broker.", "entry")
        self.failed = counter(
            "redbeat_send_failures_total", "Sends that raised (the slot is retried).", "entry"
        )
        self.missed = counter(
            "redbeat_runs_missed_total",
            "Runs given up on: sends that kept failing, or slots the catch-up policy gave up.",
            "entry",
        )  # fmt: skip
        self.skipped = counter(
            "redbeat_runs_skipped_total",
            "Due runs not sent: claimed by another beat first or changed since read "
            "(reason=claimed), or unreadable (reason=unreadable).",
            "entry", "reason",
        )  # fmt: skip
        self.redis_errors = counter(
            "redbeat_redis_errors_total", "Redis connection and time-out errors.", "error"
        )
        self.lateness = Histogram(
            "redbeat_send_lateness_seconds", "Time sent minus time scheduled, per run sent.",
            buckets=LATENESS_BUCKETS, registry=registry,
        )  # fmt: skip
        self.tick_duration = Histogram(
            "redbeat_tick_duration_seconds", "How long each tick took.",
            buckets=TICK_BUCKETS, registry=registry,
        )  # fmt: skip

    # ---- start and stop --------------------------------------------------------------------

    def serve(self, address: str, port: int) -> BeatMetrics:
        """Count from now on, and serve the metrics on ``address:port`` (0: any free port)."""
        # bound first: a port in use fails before anything is connected
        self.server = MetricsServer(self.registry, self.health, address, port)
        self._wrap_scheduler()
        self._connect()
        self.server.start()
        return self

    def close(self) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver, dispatch_uid=self._uid(receiver))
        self._receivers.clear()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _wrap_scheduler(self) -> None:
        """Time each tick and stop with the scheduler, by wrapping this scheduler's ``tick``
        and ``close`` (the instance's, not the class's)."""
        tick, close = self.scheduler.tick, self.scheduler.close

        def timed_tick(*args: Any, **kwargs: Any) -> float:
            started = self._clock()
            try:
                sleep: float = tick(*args, **kwargs)
            finally:
                self.tick_duration.observe(self._clock() - started)
            self.ticks.ticked(sleep)
            return sleep

        def closing() -> None:
            self.close()
            close()

        self.scheduler.tick, self.scheduler.close = timed_tick, closing

    def _connect(self) -> None:
        self._receivers = [
            (signals.run_sent, self._on_sent),
            (signals.send_failed, self._on_send_failed),
            (signals.runs_missed, self._on_missed),
            (signals.runs_skipped, self._on_skipped),
            (signals.redis_error, self._on_redis_error),
        ]
        for signal, receiver in self._receivers:
            # a uid of this instance's: Celery before 5.5 keys a bound method by its function
            # alone, so a second BeatMetrics in the process would replace the first's
            signal.connect(receiver, weak=False, dispatch_uid=self._uid(receiver))

    def _uid(self, receiver: Callable[..., None]) -> str:
        return f"redbeat-metrics-{id(self)}-{receiver.__name__}"

    # ---- the receivers ---------------------------------------------------------------------

    def _on_sent(self, entry: str, slot: float, **kwargs: Any) -> None:
        self.sent.labels(self.entry_label(entry)).inc()
        self.lateness.observe(max(0.0, self.app.now().timestamp() - slot))

    def _on_send_failed(self, entry: str, **kwargs: Any) -> None:
        self.failed.labels(self.entry_label(entry)).inc()

    def _on_missed(self, entries: list[str], **kwargs: Any) -> None:
        for name in entries:
            self.missed.labels(self.entry_label(name)).inc()

    def _on_skipped(self, entries: list[str], reason: str, **kwargs: Any) -> None:
        for name in entries:
            self.skipped.labels(self.entry_label(name), reason).inc()

    def _on_redis_error(self, exception: BaseException, **kwargs: Any) -> None:
        self.redis_errors.labels(type(exception).__name__).inc()

    # ---- read at scrape time ---------------------------------------------------------------

    def state(self) -> ScheduleState | None:
        """The schedule's state in Redis, or None if Redis cannot be read now."""
        try:
            with brief_retries(self.app, SCRAPE_RETRY_PERIOD):
                return read_state(self.app)
        except RedisError:
            return None

    @property
    def token(self) -> str | None:
        lock = self.scheduler.lock
        return lock.token if lock is not None else None

    def health(self) -> Health:
        return judge(self.state(), self.token, self.ticks)


class _StateCollector:
    """Reads the schedule's and this beat's state at each scrape."""

    def __init__(self, metrics: BeatMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        state = self.metrics.state()
        yield from schedule_families(state)
        scheduler = self.metrics.scheduler
        token = self.metrics.token
        held = scheduler.holds_lock if state is None else holds_lock(state, token)
        yield GaugeMetricFamily(
            "redbeat_lock_held", "1 while this beat holds the lock (or none is used), else 0.",
            value=float(held),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "redbeat_healthy", "1 while /healthz says this beat is healthy, else 0.",
            value=float(judge(state, token, self.metrics.ticks).healthy),
        )  # fmt: skip
        since = self.metrics.ticks.since_last_tick()
        if since is not None:
            yield GaugeMetricFamily(
                "redbeat_last_tick_timestamp_seconds", "When this beat last ticked (UNIX time).",
                value=time.time() - since,
            )  # fmt: skip
