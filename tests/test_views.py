"""The Django metrics view: the schedule's state and each entry's run state, read from Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.schedules import schedule
from django.test import RequestFactory, override_settings

from django_redbeat import views
from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.beat.lock import BeatLock
from django_redbeat.decoder import to_timestamp
from tests.metrics_fixtures import parse, value

pytestmark = pytest.mark.usefixtures("django_celery_app")


def scrape_view() -> dict[tuple, float]:
    response = views.metrics(RequestFactory().get("/redbeat/metrics"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def add(app, name, seconds, **kwargs):
    every = schedule(timedelta(seconds=seconds))
    return RedBeatSchedulerEntry(name, "tests.add", every, app=app, **kwargs).save()


def test_it_exports_the_schedule_and_the_lock(celery_app, clock, redis_client):
    add(celery_app, "late", 10)
    add(celery_app, "later", 3600)
    BeatLock(redis_client, "redbeat::lock", 30, token="beathost:321:abc").acquire()
    clock.advance(seconds=70)

    samples = scrape_view()

    assert value(samples, "redbeat_redis_up") == 1
    assert value(samples, "redbeat_entries", state="scheduled") == 2
    assert value(samples, "redbeat_entries_due") == 1
    assert value(samples, "redbeat_entries_overdue") == 0  # due for 60 s exactly: not yet
    assert value(samples, "redbeat_oldest_due_age_seconds") == 60
    assert value(samples, "redbeat_lock_holder_info", host="beathost", pid="321") == 1
    assert 0 < value(samples, "redbeat_lock_ttl_seconds") <= 30


def test_it_exports_each_entrys_run_state_from_redis(celery_app, clock, redis_client):
    started = clock.current
    entry = add(celery_app, "job", 10)
    next(entry)  # one run recorded, now
    redis_client.hset("redbeat:job", "missed_run_count", 2)

    samples = scrape_view()

    assert value(samples, "redbeat_entry_runs_total", entry="job") == 1
    assert value(samples, "redbeat_entry_missed_runs_total", entry="job") == 2
    assert value(samples, "redbeat_entry_last_run_timestamp_seconds", entry="job") == (
        to_timestamp(started)
    )
    assert value(samples, "redbeat_entry_next_run_timestamp_seconds", entry="job") == (
        to_timestamp(started) + 10
    )


def test_per_entry_series_are_bounded_by_the_setting(celery_app):
    for name in ("a", "b", "c"):
        add(celery_app, name, 10)

    with override_settings(REDBEAT_METRICS_ENTRY_LABELS=2):
        del celery_app.redbeat_conf  # read the settings again
        samples = scrape_view()

    runs = [labels for name, labels in samples if name == "redbeat_entry_runs_total"]
    assert len(runs) == 2


def test_an_unreachable_redis_says_so(celery_app, own_redis):
    own_redis.stop()
    try:
        samples = scrape_view()
    finally:
        own_redis.start()

    assert samples == {("redbeat_redis_up", ()): 0}
