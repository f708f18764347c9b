"""``manage.py redbeat_run --metrics-port``: beat in the Django process serves its metrics."""

from __future__ import annotations

import pytest
from django.utils import timezone

from support.processes import wait_for
from tests.management.test_redbeat_run import (  # noqa: F401
    LONG_SLEEP,
    beat_loggers,
    make_task,
    real_time,
    run_beat,
    run_count,
)
from tests.metrics_fixtures import scrape_port, value

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app", "beat_loggers"),
]


def test_redbeat_run_serves_metrics_on_the_port_given(celery_app, redis_client):
    celery_app.conf.redbeat_metrics_address = "127.0.0.1"  # the port comes from the option
    make_task(kind="oneoff", run_at=timezone.now())  # due now: sent once
    scraped = {}

    def act(command):
        wait_for(lambda: run_count(redis_client) == 1, 10, "the run claimed")
        port = command.runner.scheduler.metrics.server.port

        def sent() -> bool:
            scraped.update(scrape_port(port))
            return value(scraped, "redbeat_runs_sent_total", entry="job") == 1

        wait_for(sent, 10, "the run counted as sent")

    run_beat(act, "--max-interval", LONG_SLEEP, "--metrics-port", "0")

    assert value(scraped, "redbeat_runs_sent_total", entry="job") == 1
    assert value(scraped, "redbeat_send_lateness_seconds_count") == 1
    assert value(scraped, "redbeat_lock_held") == 1
