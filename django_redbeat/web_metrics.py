"""What the Django metrics view exports: the schedule's state and each entry's run state, read
from Redis at each scrape (any web process can serve it; beat's own counters are on beat's
endpoint). prometheus-client is imported here: only the view imports this module."""

from __future__ import annotations

from collections.abc import Iterator

from celery import Celery
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.exceptions import RedisError

from django_redbeat.beat.entry_counters import EntryCounters, read_entry_counters
from django_redbeat.beat.schedule_collector import schedule_families
from django_redbeat.beat.schedule_state import read_state
from django_redbeat.store.connection import brief_retries
from django_redbeat.store.redbeat_config import ensure_conf

#: Seconds a scrape waits for Redis before it reports it unreadable.
SCRAPE_RETRY_PERIOD = 1.0


class RedisCollector:
    def __init__(self, app: Celery) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        limit = ensure_conf(self.app).metrics_entry_labels
        try:
            with brief_retries(self.app, SCRAPE_RETRY_PERIOD):
                state = read_state(self.app)
                entries = read_entry_counters(self.app, limit)
        except RedisError:
            yield from schedule_families(None)
            return
        yield from schedule_families(state)
        yield from entry_families(entries)


def entry_families(entries: list[EntryCounters]) -> Iterator[Metric]:
    labels = ["entry"]
    runs = CounterMetricFamily(
        "redbeat_entry_runs", "Runs sent, from the entry's run count in Redis.", labels=labels
    )
    missed = CounterMetricFamily(
        "redbeat_entry_missed_runs",
        "Runs given up on after their sends kept failing, from Redis.",
        labels=labels,
    )
    next_run = GaugeMetricFamily(
        "redbeat_entry_next_run_timestamp_seconds", "When the entry is due next.", labels=labels
    )
    last_run = GaugeMetricFamily(
        "redbeat_entry_last_run_timestamp_seconds", "When the entry last ran.", labels=labels
    )
    for entry in entries:
        runs.add_metric([entry.name], entry.runs)
        missed.add_metric([entry.name], entry.missed)
        next_run.add_metric([entry.name], entry.next_run)
        if entry.last_run is not None:
            last_run.add_metric([entry.name], entry.last_run)
    yield from (runs, missed, next_run, last_run)


def registry_for(app: Celery) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(app))
    return registry
