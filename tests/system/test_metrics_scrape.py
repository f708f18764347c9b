"""A real ``celery beat`` process with its metrics endpoint, scraped over HTTP."""

from __future__ import annotations

import re

import pytest

from support.processes import BeatProcess, lock_holder_pid, wait_for
from support.redis_server import free_port
from tests.metrics_fixtures import scrape_port, value

pytestmark = pytest.mark.system

LOG_LINE = re.compile(r"Metrics on http://127\.0\.0\.1:\d+/metrics")


def test_a_running_beat_exports_what_it_sent(
    redis_server, redis_client, broker_url, broker, tmp_path
):
    # a fixed port: `celery beat` also makes a lazy scheduler for its banner, which must not
    # take the port the running one serves on
    port = free_port()
    beat = BeatProcess(tmp_path, redis_server.url, broker_url, BEAT_PROJECT_METRICS_PORT=str(port))
    try:
        wait_for(lambda: LOG_LINE.search(beat.log()), 30, "the metrics endpoint")
        wait_for(lambda: broker.llen("celery") >= 3, 30, "three runs sent")
        # no more runs: the entry leaves the schedule (a tick that read it already loses the claim)
        redis_client.delete("redbeat:say-hello")
        redis_client.zrem("redbeat::schedule", "redbeat:say-hello")

        def settled() -> dict | None:
            samples = scrape_port(port)
            sent = value(samples, "redbeat_runs_sent_total", entry="say-hello")
            return samples if sent == broker.llen("celery") else None

        samples = wait_for(settled, 30, "the sent count to equal the messages on the broker")
        sent = broker.llen("celery")
        assert value(samples, "redbeat_send_lateness_seconds_count") == sent
        assert value(samples, "redbeat_send_lateness_seconds_sum") > 0  # slots are whole seconds
        assert value(samples, "redbeat_tick_duration_seconds_count") >= sent
        assert lock_holder_pid(redis_client) == beat.pid
        assert value(samples, "redbeat_lock_held") == 1
        assert 0 < value(samples, "redbeat_lock_ttl_seconds") <= 30
        assert value(samples, "redbeat_healthy") == 1
        assert value(samples, "redbeat_send_failures_total", entry="say-hello") is None
    finally:
        beat.stop()
