"""The worker hook's receivers, called as Celery's signals call them (the real-worker tests are
in tests/system/test_run_outcomes.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from celery.schedules import schedule

from django_redbeat.beat import worker_hook
from django_redbeat.beat.headers import PERIODIC_TASK_NAME_HEADER, SCHEDULED_AT_HEADER
from django_redbeat.schedulers import RedBeatSchedulerEntry

HISTORY = "redbeat::history:job"


@pytest.fixture
def sent(celery_app, redis_client):
    """An entry, and the history record beat wrote when it sent task "t-1"."""
    RedBeatSchedulerEntry("job", "tests.add", schedule(60), app=celery_app).save()
    record = {"scheduled_at": 1, "task_id": "t-1", "beat": "b", "sent_at": 2.5, "outcome": "sent"}
    redis_client.lpush(HISTORY, json.dumps(record, separators=(",", ":")))


def task(app, **headers):
    return SimpleNamespace(app=app, request=SimpleNamespace(**headers))


BEAT_HEADERS = {PERIODIC_TASK_NAME_HEADER: "job", SCHEDULED_AT_HEADER: "2026-01-15T12:00:00"}


def test_a_task_beat_did_not_send_is_left_alone(sent, celery_app, redis_client, round_trips):
    round_trips.round_trips = 0
    worker_hook.started(task_id="t-1", task=task(celery_app))
    worker_hook.failed(sender=task(celery_app), task_id="t-1", exception=ValueError())

    assert round_trips.round_trips == 0
    assert json.loads(redis_client.lindex(HISTORY, 0))["outcome"] == "sent"


def test_headers_of_a_worker_request_are_found_too(sent, celery_app, redis_client):
    request = SimpleNamespace(id="t-1", headers=dict(BEAT_HEADERS))
    worker_hook.revoked(sender=task(celery_app), request=request, expired=True)

    record = json.loads(redis_client.lindex(HISTORY, 0))
    assert (record["outcome"], record["reason"]) == ("revoked", "expired")
    assert "finished_at" in record and "runtime" not in record  # it never started


def test_an_outcome_for_a_deleted_entry_writes_nothing(sent, celery_app, redis_client):
    redis_client.delete("redbeat:job")
    worker_hook.failed(
        sender=task(celery_app, **BEAT_HEADERS), task_id="t-1", exception=KeyError()
    )
    assert redis_client.exists("redbeat:job") == 0  # no hash of counters alone is left behind


def test_a_redis_error_is_logged_never_raised(celery_app, caplog, own_redis):
    own_redis.stop()
    worker_hook.started(task_id="t-1", task=task(celery_app, **BEAT_HEADERS))
    assert "could not record started of job (t-1)" in caplog.text
