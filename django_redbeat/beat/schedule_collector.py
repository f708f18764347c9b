"""The schedule's state as Prometheus metric families: what beat's endpoint and the Django view
both export, read from Redis at each scrape (prometheus-client is imported here: only the
metrics code imports this module)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from django_redbeat.beat.schedule_state import ScheduleState
from django_redbeat.beat.status import OVERDUE_AFTER


def schedule_families(state: ScheduleState | None) -> Iterator[Metric]:
    """The metric families of ``state``; only ``redbeat_redis_up`` 0 when Redis was unreadable."""
    up = 0 if state is None else 1
    yield _gauge("redbeat_redis_up", "1 if Redis could be read at this scrape, else 0.", up)
    if state is None:
        return
    entries = GaugeMetricFamily(
        "redbeat_entries", "Entries in the schedule, by state.", labels=["state"]
    )
    entries.add_metric(["scheduled"], state.entries - state.never)
    entries.add_metric(["disabled_or_finished"], state.never)
    yield entries
    yield _gauge("redbeat_entries_due", "Entries due now (not sent yet).", state.due)
    yield _gauge(
        "redbeat_entries_overdue",
        f"Entries due for more than {OVERDUE_AFTER} s: no beat is sending them.",
        state.overdue,
    )
    age = 0 if state.oldest_due is None else state.now - state.oldest_due
    yield _gauge(
        "redbeat_oldest_due_age_seconds",
        "How long the entry due first has been due (0 when nothing is due).",
        age,
    )
    if state.lock_key is not None:
        yield from _lock_families(state)


def _lock_families(state: ScheduleState) -> Iterator[Metric]:
    yield _gauge(
        "redbeat_lock_ttl_seconds",
        "Seconds until the beat lock expires unless renewed (0 when nobody holds it).",
        state.lock_ttl or 0,
    )
    holder = GaugeMetricFamily(
        "redbeat_lock_holder_info",
        "1 for the beat holding the lock (absent when nobody holds it).",
        labels=["host", "pid"],
    )
    if state.lock_token is not None:
        host, pid = state.lock_holder
        holder.add_metric([host or "", "" if pid is None else str(pid)], 1)
    yield holder


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
