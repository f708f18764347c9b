"""Run history and pause on failure with a real beat and a real worker that has the hook."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery import Celery
from celery.schedules import schedule

from django_redbeat.beat import run_history
from django_redbeat.beat.run_policy import RunPolicy
from django_redbeat.schedulers import RedBeatSchedulerEntry
from support.processes import BeatProcess, WorkerProcess, wait_for

pytestmark = pytest.mark.system

PROJECT = "tests.system.worker_project"


@pytest.fixture
def app(redis_server, redis_client):
    app = Celery("writer", set_as_current=False)
    app.conf.update(broker_url="memory://", redbeat_redis_url=redis_server.url)
    yield app
    app.close()


@pytest.fixture
def processes(redis_server, broker_url, tmp_path):
    started = []

    def start(kind):
        process = kind(tmp_path / kind.log_name, redis_server.url, broker_url, PROJECT)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def add(app, name, task, seconds=1.0, args=(), **policy) -> RedBeatSchedulerEntry:
    return RedBeatSchedulerEntry(
        name, task, schedule(timedelta(seconds=seconds)), args=list(args),
        policy=RunPolicy(**policy), app=app,
    ).save()  # fmt: skip


def history(redis_client, name):
    return [json.loads(raw) for raw in redis_client.lrange(f"redbeat::history:{name}", 0, -1)]


def outcomes(redis_client, name):
    return [record["outcome"] for record in history(redis_client, name)]


def test_a_real_worker_records_each_runs_outcome_and_runtime(app, processes, redis_client):
    add(app, "ok", "worker_project.quick")
    add(app, "fails", "worker_project.boom")
    worker = processes(WorkerProcess)
    processes(BeatProcess)

    wait_for(lambda: "succeeded" in outcomes(redis_client, "ok"), 60, "a run that succeeded")
    wait_for(lambda: "failed" in outcomes(redis_client, "fails"), 30, "a run that failed")

    done = next(r for r in history(redis_client, "ok") if r["outcome"] == "succeeded")
    assert done["started_at"] <= done["finished_at"]
    assert done["runtime"] == pytest.approx(done["finished_at"] - done["started_at"], abs=1e-5)
    assert done["sent_at"] <= done["started_at"]
    assert f"Task worker_project.quick[{done['task_id']}] succeeded" in worker.log()
    failed = next(r for r in history(redis_client, "fails") if r["outcome"] == "failed")
    assert failed["error"] == "ZeroDivisionError"
    [counters] = [run_history.read(redis_client, "redbeat:", ["fails"])[0].counters]
    assert counters[run_history.FAILED_FIELD] >= 1
    assert counters[run_history.FAILED_FIELD] == counters[run_history.CONSECUTIVE_FAILURES_FIELD]
    assert redis_client.hget("redbeat:ok", run_history.CONSECUTIVE_FAILURES_FIELD) is None


def test_a_retried_run_and_an_expired_one_are_recorded(app, processes, redis_client):
    add(app, "flaky", "worker_project.flaky", seconds=5.0)
    RedBeatSchedulerEntry(
        "late", "worker_project.quick", schedule(timedelta(seconds=5)),
        options={"expires": 0.000001}, app=app,
    ).save()  # fmt: skip
    processes(WorkerProcess)
    processes(BeatProcess)

    wait_for(lambda: outcomes(redis_client, "late") == ["revoked"], 60, "an expired run")
    assert history(redis_client, "late")[0]["reason"] == "expired"
    # the retry is the same task id, and carries beat's headers: one record, retried, then run
    wait_for(lambda: outcomes(redis_client, "flaky") == ["retried"], 30, "a retried run")
    wait_for(lambda: outcomes(redis_client, "flaky") == ["succeeded"], 30, "the retry to run")
    [record] = history(redis_client, "flaky")
    assert "started_at" in record and record["runtime"] >= 0


def test_an_entry_pauses_itself_after_its_failures_in_a_row(app, processes, redis_client):
    entry = add(app, "fails", "worker_project.boom", pause_after_failures=3)
    processes(WorkerProcess)
    processes(BeatProcess)

    wait_for(lambda: redis_client.hexists(entry.key, "paused"), 60, "the entry to pause itself")

    paused = json.loads(redis_client.hget(entry.key, "paused"))
    assert paused["reason"] == "3 failed runs in a row"
    assert paused["by"] == "worker"
    stored = RedBeatSchedulerEntry.from_key(entry.key, app=app)
    assert stored.enabled is False
    assert redis_client.zscore("redbeat::schedule", entry.key) == -1  # out of the schedule
    assert outcomes(redis_client, "fails")[-3:] == ["failed"] * 3


def runs(redis_client, name):
    """The runs that ended, oldest first: (started_at, finished_at)."""
    ended = [r for r in history(redis_client, name) if "finished_at" in r]
    return sorted((r["started_at"], r["finished_at"]) for r in ended)


def overlapping(spans) -> bool:
    return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def test_a_long_task_under_skip_never_overlaps_and_counts_what_it_skipped(
    app, processes, redis_client
):
    add(app, "skipping", "worker_project.slow", args=[2.5], overlap="skip")
    add(app, "allowed", "worker_project.slow", args=[2.5])  # the control: runs overlap
    processes(WorkerProcess)
    processes(BeatProcess)

    wait_for(lambda: len(runs(redis_client, "skipping")) >= 2, 60, "two runs under skip")
    wait_for(lambda: overlapping(runs(redis_client, "allowed")), 30, "allowed runs overlapping")

    assert not overlapping(runs(redis_client, "skipping"))
    skipped = [r for r in history(redis_client, "skipping") if r["outcome"] == "skipped"]
    assert skipped and all(r["reason"] == "overlap" for r in skipped)
    [counted] = run_history.read(redis_client, "redbeat:", ["skipping"])
    assert counted.counters[run_history.SKIPPED_FIELD] >= len(skipped)


def test_a_long_task_under_buffer_one_runs_again_as_soon_as_it_finishes(
    app, processes, redis_client
):
    add(app, "buffering", "worker_project.slow", args=[2.0], overlap="buffer_one")
    processes(WorkerProcess)
    processes(BeatProcess)

    wait_for(lambda: len(runs(redis_client, "buffering")) >= 2, 60, "two runs under buffer_one")

    records = history(redis_client, "buffering")[::-1]  # oldest first
    spans = runs(redis_client, "buffering")
    assert not overlapping(spans)
    assert "buffered" in [r["outcome"] for r in records]
    sent = [r for r in records if "sent_at" in r]
    # the buffered slot went out once the first run finished, not at a later slot
    assert sent[1]["sent_at"] - spans[0][1] < 1.5
    assert sent[1]["scheduled_at"] < spans[0][1]
