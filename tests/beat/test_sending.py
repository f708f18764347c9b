"""Each claimed run goes out through Celery's ``Scheduler.apply_entry``, where tools that watch
beat hook in (sentry-sdk's Crons wraps it), and a send it did not make is still a failed one."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from celery.beat import Scheduler
from celery.schedules import schedule

from django_redbeat.beat.headers import PERIODIC_TASK_NAME_HEADER, SCHEDULED_AT_HEADER
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from django_redbeat.signals import send_failed


def add_entry(app, name="add"):
    every = schedule(timedelta(seconds=60))
    return RedBeatSchedulerEntry(name, "tests.add", every, options={"queue": "q"}, app=app).save()


@pytest.fixture
def scheduler(celery_app):
    celery_app.conf.redbeat_lock_key = None
    beat = RedBeatScheduler(app=celery_app)
    yield beat
    beat.close()


@pytest.fixture
def wrapped_apply_entry(monkeypatch):
    """Scheduler.apply_entry wrapped as sentry-sdk wraps it: it sees (scheduler, entry), adds a
    header of its own to the entry's options, then calls Celery's."""
    seen = []
    original = Scheduler.apply_entry

    def apply_entry(*args, **kwargs):
        scheduler, entry = args  # as sentry-sdk unpacks them: the producer comes by keyword
        seen.append((scheduler, entry.name, dict(entry.options["headers"])))
        entry.options["headers"] = {**entry.options["headers"], "watcher": "saw it"}
        return original(*args, **kwargs)

    monkeypatch.setattr(Scheduler, "apply_entry", apply_entry)
    return seen


def test_a_wrapper_of_apply_entry_sees_each_run_and_its_headers_reach_the_message(
    scheduler, celery_app, clock, broker, wrapped_apply_entry, caplog
):
    add_entry(celery_app)
    clock.advance(seconds=60)

    with caplog.at_level(logging.INFO, logger="celery.beat"):
        scheduler.tick()

    [(beat, name, headers)] = wrapped_apply_entry
    assert (beat, name) == (scheduler, "add")
    assert headers[PERIODIC_TASK_NAME_HEADER] == "add" and SCHEDULED_AT_HEADER in headers
    [message] = broker.messages("q")
    assert message.headers["watcher"] == "saw it"
    assert message.headers[SCHEDULED_AT_HEADER] == headers[SCHEDULED_AT_HEADER]
    assert "Scheduler: Sending due task add (tests.add)" in caplog.text  # Celery's own line


def test_a_wrapper_that_raises_fails_the_send_and_the_slot_is_sent_at_the_next_tick(
    scheduler, celery_app, clock, broker, monkeypatch
):
    entry = add_entry(celery_app)
    failures = []
    send_failed.connect(receiver := lambda sender, **kwargs: failures.append(kwargs))
    original = Scheduler.apply_entry
    monkeypatch.setattr(Scheduler, "apply_entry", lambda *args, **kwargs: 1 / 0)
    clock.advance(seconds=60)
    try:
        scheduler.tick()
    finally:
        send_failed.disconnect(receiver)

    assert broker.messages("q") == []
    [failure] = failures
    assert (failure["entry"], type(failure["exception"])) == ("add", ZeroDivisionError)
    assert RedBeatSchedulerEntry.from_key(entry.key, app=celery_app).total_run_count == 0

    monkeypatch.setattr(Scheduler, "apply_entry", original)
    clock.advance(seconds=1)
    scheduler.tick()
    assert len(broker.messages("q")) == 1


def test_a_wrapper_that_returns_without_sending_fails_the_send(
    scheduler, celery_app, clock, broker, monkeypatch, caplog
):
    entry = add_entry(celery_app)
    monkeypatch.setattr(Scheduler, "apply_entry", lambda *args, **kwargs: None)
    clock.advance(seconds=60)

    with caplog.at_level(logging.ERROR, logger="celery.beat"):
        scheduler.tick()

    assert broker.messages("q") == []
    assert RedBeatSchedulerEntry.from_key(entry.key, app=celery_app).total_run_count == 0
    assert "Sending add failed" in caplog.text


def test_a_send_celery_fails_is_logged_by_celery_with_its_traceback_and_given_back(
    scheduler, celery_app, clock, broker, caplog
):
    entry = add_entry(celery_app)
    stored = RedBeatSchedulerEntry.from_key(entry.key, app=celery_app)
    stored.options = {"queue": "q", "serializer": "no-such-serializer"}
    stored.save()
    clock.advance(seconds=60)

    with caplog.at_level(logging.ERROR, logger="celery.beat"):
        scheduler.tick()

    assert broker.messages("q") == []
    assert "Message Error" in caplog.text and "Traceback" in caplog.text
    assert "Sending add failed" in caplog.text
    assert RedBeatSchedulerEntry.from_key(entry.key, app=celery_app).total_run_count == 0
