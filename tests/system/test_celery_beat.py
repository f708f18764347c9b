"""`celery beat -S django_redbeat.schedulers:RedBeatScheduler` as a user runs it."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.system


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)  # polling a real process, with a deadline
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def beat(redis_server, redis_client, tmp_path):
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/1"
    broker = redis.Redis.from_url(broker_url, decode_responses=True)
    broker.flushdb()
    log = open(tmp_path / "beat.log", "w+")  # noqa: SIM115 - closed below
    env = {
        **os.environ,
        "BEAT_PROJECT_BROKER_URL": broker_url,
        "BEAT_PROJECT_REDIS_URL": redis_server.url,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.system.beat_project", "beat",
         "-S", "django_redbeat.schedulers:RedBeatScheduler", "--loglevel", "INFO",
         "--schedule", str(tmp_path / "unused")],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield process, broker, log
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def test_celery_beat_sends_the_beat_schedule_and_releases_its_lock(beat, redis_client):
    process, broker, log = beat

    wait_for(lambda: broker.llen("celery") >= 2, 30, "two messages on the broker")
    message = json.loads(broker.lindex("celery", 0))
    assert message["headers"]["task"] == "beat_project.say"
    assert json.loads(base64.b64decode(message["body"]))[0] == ["hello"]
    assert redis_client.smembers("redbeat::statics") == {"say-hello"}
    assert redis_client.exists("redbeat::lock") == 1

    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert redis_client.exists("redbeat::lock") == 0  # released at once, no TTL wait
    log.seek(0)
    assert "Sending due task say-hello" in log.read()
