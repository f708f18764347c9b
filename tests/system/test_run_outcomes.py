"""Run history and pause on failure with a real beat and a real worker that has the hook."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery import Celery
from celery.schedules import schedule

from django_redbeat.beat import run_history
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
    entry = RedBeatSchedulerEntry(
        name, task, schedule(timedelta(seconds=seconds)), args=list(args), app=app
    ).save()
    if policy:  # the run policy's own field (run_policy.py), written as it stores it
        app.redbeat_redis.hset(entry.key, "policy", json.dumps(policy))
    return entry


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
