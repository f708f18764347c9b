"""Beat's metrics endpoint: a scheduler ticking against the real Redis, scraped over HTTP."""

from __future__ import annotations

import urllib.request

import pytest

from django_redbeat.beat.beat_metrics import OTHER_ENTRIES
from django_redbeat.exceptions import ConfigurationError
from django_redbeat.schedulers import RedBeatScheduler
from tests.beat.test_scheduler import add_entry
from tests.metrics_fixtures import scrape, value
from tests.test_public_api import run_python


def test_a_scrape_counts_runs_sent_and_their_lateness(metrics_beat, metrics_app, clock, broker):
    beat = metrics_beat
    for name in ("a", "b", "c"):
        add_entry(metrics_app, name, seconds=10)
    clock.advance(seconds=10.25)  # each is sent a quarter of a second after its time

    beat.tick()

    samples = scrape(beat)
    sent = len(broker.messages("q"))
    assert sent == 3
    for name in ("a", "b", "c"):
        assert value(samples, "redbeat_runs_sent_total", entry=name) == 1
    assert value(samples, "redbeat_send_lateness_seconds_count") == sent
    assert value(samples, "redbeat_send_lateness_seconds_sum") == pytest.approx(0.75)
    assert value(samples, "redbeat_send_lateness_seconds_bucket", le="0.25") == 3
    assert value(samples, "redbeat_send_lateness_seconds_bucket", le="0.1") == 0
    assert value(samples, "redbeat_tick_duration_seconds_count") == 1
    assert value(samples, "redbeat_lock_held") == 1
    assert 0 < value(samples, "redbeat_lock_ttl_seconds") <= 30
    assert value(samples, "redbeat_entries", state="scheduled") == 3
    assert value(samples, "redbeat_entries_due") == 0
    assert value(samples, "redbeat_redis_up") == 1
    assert value(samples, "redbeat_healthy") == 1


def test_due_and_overdue_entries_are_read_at_scrape_time(metrics_beat, metrics_app, clock):
    beat = metrics_beat
    add_entry(metrics_app, "soon", seconds=100)
    add_entry(metrics_app, "late", seconds=10)
    add_entry(metrics_app, "off", seconds=10, enabled=False)
    clock.advance(seconds=130)  # "late" has been due for 120 s, "soon" for 30 s; no tick yet

    samples = scrape(beat)

    assert value(samples, "redbeat_entries_due") == 2
    assert value(samples, "redbeat_entries_overdue") == 1
    assert value(samples, "redbeat_oldest_due_age_seconds") == 120
    assert value(samples, "redbeat_entries", state="disabled_or_finished") == 1
    assert value(samples, "redbeat_lock_held") == 0  # it has not ticked, so not taken the lock
    assert value(samples, "redbeat_lock_ttl_seconds") == 0


def test_failed_sends_are_counted_and_then_missed(metrics_beat, metrics_app, clock):
    beat = metrics_beat
    options = {"queue": "q", "serializer": "nope", "catch_up_window": 3600}  # failures decide
    add_entry(metrics_app, "broken", seconds=10, options=options)
    clock.advance(seconds=10)
    beat.tick()  # the send raises: the slot is given back
    clock.advance(seconds=metrics_app.redbeat_conf.send_retry_window + 1)
    beat.tick()  # raises again, now past the retry window: missed

    samples = scrape(beat)

    assert value(samples, "redbeat_send_failures_total", entry="broken") == 2
    assert value(samples, "redbeat_runs_missed_total", entry="broken") == 1
    assert value(samples, "redbeat_runs_sent_total", entry="broken") is None


def test_unreadable_entries_and_slots_claimed_elsewhere_are_skipped(
    metrics_beat, metrics_app, clock, redis_client
):
    beat = metrics_beat
    metrics_app.conf.redbeat_lock_key = None
    other = RedBeatScheduler(app=metrics_app)  # shares the app's config: no lock either
    beat.lock_key = None
    add_entry(metrics_app, "job", seconds=10)
    redis_client.hset("redbeat:bad", "definition", "{not json")
    redis_client.zadd("redbeat::schedule", {"redbeat:bad": 0})
    clock.advance(seconds=10)
    window = beat._read_due_window()  # both read the window before either claims
    other.tick()
    beat._run(window)
    other.close()

    samples = scrape(beat)

    assert value(samples, "redbeat_runs_skipped_total", entry="job", reason="claimed") == 1
    assert value(samples, "redbeat_runs_skipped_total", entry="bad", reason="unreadable") >= 1


def test_entry_labels_are_bounded_by_the_setting(metrics_app, clock):
    metrics_app.conf.redbeat_metrics_entry_labels = 2
    beat = RedBeatScheduler(app=metrics_app)
    try:
        for name in ("a", "b", "c", "d"):
            add_entry(metrics_app, name, seconds=10)
        clock.advance(seconds=10)
        beat.tick()
        samples = scrape(beat)
    finally:
        beat.close()

    sent = {
        dict(labels)["entry"]: count
        for (name, labels), count in samples.items()
        if name == "redbeat_runs_sent_total"
    }
    assert len(sent) == 3 and sent[OTHER_ENTRIES] == 2
    assert sum(sent.values()) == 4


def test_redis_errors_are_counted(metrics_app, own_redis, clock):
    beat = RedBeatScheduler(app=metrics_app)
    try:
        own_redis.stop()
        beat.tick()  # logged, beat stands by
        samples = scrape(beat)
    finally:
        own_redis.start()
        beat.close()

    assert value(samples, "redbeat_redis_errors_total", error="ConnectionError") >= 1
    assert value(samples, "redbeat_redis_up") == 0
    assert value(samples, "redbeat_healthy") == 0


def test_closing_the_scheduler_stops_the_endpoint(metrics_app):
    beat = RedBeatScheduler(app=metrics_app)
    port = beat.metrics.server.port
    beat.close()

    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)


def test_a_port_in_use_is_a_clear_error(metrics_beat, metrics_app):
    beat = metrics_beat
    metrics_app.conf.redbeat_metrics_port = beat.metrics.server.port
    del metrics_app.redbeat_conf  # read the configuration again

    with pytest.raises(ConfigurationError, match="redbeat_metrics_port"):
        RedBeatScheduler(app=metrics_app)


def test_without_a_port_there_is_no_endpoint(celery_app):
    beat = RedBeatScheduler(app=celery_app)
    try:
        assert beat.metrics is None
    finally:
        beat.close()


def test_without_prometheus_client_beat_runs_and_a_port_names_the_extra(redis_url, redis_client):
    result = run_python(
        "import sys\n"
        "sys.modules['prometheus_client'] = None  # not installed\n"
        "from celery import Celery\n"
        "from django_redbeat.exceptions import ConfigurationError\n"
        "from django_redbeat.schedulers import RedBeatScheduler\n"
        "app = Celery('plain', set_as_current=False)\n"
        f"app.conf.update(redbeat_redis_url={redis_url!r}, broker_url='memory://')\n"
        "app.conf.beat_schedule = {'job': {'task': 't', 'schedule': 1.0}}\n"
        "scheduler = RedBeatScheduler(app=app, lazy=False)\n"
        "scheduler.tick()\n"
        "scheduler.close()\n"
        "print('ticked:', 'prometheus_client' not in [m for m in sys.modules if sys.modules[m]])\n"
        "del app.redbeat_conf\n"
        "app.conf.redbeat_metrics_port = 0\n"
        "try:\n"
        "    RedBeatScheduler(app=app)\n"
        "except ConfigurationError as exc:\n"
        "    print('refused:', exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "ticked: True" in result.stdout
    assert "refused: Metrics need prometheus-client: pip install " in result.stdout
    assert "django-redbeat[prometheus]" in result.stdout


def test_slots_a_catch_up_gives_up_are_counted_missed(metrics_beat, metrics_app, clock, broker):
    beat = metrics_beat
    add_entry(metrics_app, "late", seconds=10)  # due now, every 10 s: a window of 60 s
    clock.advance(seconds=90)  # found 90 s late: past its window

    beat.tick()

    samples = scrape(beat)
    assert broker.messages("q") == []
    assert value(samples, "redbeat_runs_missed_total", entry="late") == 1
    assert value(samples, "redbeat_runs_sent_total", entry="late") is None
