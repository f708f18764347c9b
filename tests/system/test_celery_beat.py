"""`celery beat -S django_redbeat.schedulers:RedBeatScheduler` as a user runs it."""

from __future__ import annotations

import signal

import pytest

from support.processes import BeatProcess, sent_messages, wait_for

pytestmark = pytest.mark.system


def test_celery_beat_sends_the_beat_schedule_and_releases_its_lock(
    redis_server, redis_client, broker_url, broker, tmp_path
):
    beat = BeatProcess(tmp_path, redis_server.url, broker_url)
    try:
        wait_for(lambda: broker.llen("celery") >= 2, 30, "two messages on the broker")
        message = sent_messages(broker)[0]
        assert message["headers"]["task"] == "beat_project.say"
        assert message["args"] == ["hello"]
        assert redis_client.smembers("redbeat::statics") == {"say-hello"}
        assert redis_client.exists("redbeat::lock") == 1

        beat.signal(signal.SIGTERM)
        assert beat.process.wait(30) == 0
        assert redis_client.exists("redbeat::lock") == 0  # released at once, no TTL wait
        assert "Sending due task say-hello" in beat.log()
    finally:
        beat.stop()
