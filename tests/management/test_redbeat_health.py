"""``manage.py redbeat_health``: exit 0 when the local beat says it is healthy, else 1."""

from __future__ import annotations

import socket
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_redbeat.beat.lock import BeatLock

pytestmark = pytest.mark.usefixtures("django_celery_app")


def health(*args: str) -> str:
    out = StringIO()
    call_command("redbeat_health", *args, stdout=out)
    return out.getvalue()


def test_a_holding_beat_is_healthy(metrics_beat):
    metrics_beat.tick()

    out = health("--port", str(metrics_beat.metrics.server.port))

    assert out.startswith("healthy: holds the lock")


def test_a_standby_with_a_live_holder_is_healthy(metrics_beat, redis_client):
    BeatLock(redis_client, "redbeat::lock", 30, token="otherhost:7:abc").acquire()
    metrics_beat.tick()

    out = health("--port", str(metrics_beat.metrics.server.port))

    assert out.startswith("healthy: standing by: otherhost (pid 7) holds the lock")


def test_no_holder_is_unhealthy_with_exit_code_1(metrics_beat):
    port = metrics_beat.metrics.server.port

    with pytest.raises(CommandError, match="unhealthy: no beat holds the lock") as raised:
        health("--port", str(port))
    assert raised.value.returncode == 1


def test_the_port_comes_from_the_setting(metrics_beat):
    metrics_beat.tick()
    with override_settings(REDBEAT_METRICS_PORT=metrics_beat.metrics.server.port):
        del metrics_beat.app.redbeat_conf  # read the settings again
        assert health().startswith("healthy:")


def test_no_beat_answering_is_unhealthy():
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    with pytest.raises(CommandError, match="unhealthy: no beat answers at"):
        health("--port", str(port))


def test_without_a_port_it_says_what_to_set():
    with pytest.raises(CommandError, match="REDBEAT_METRICS_PORT"):
        health()
