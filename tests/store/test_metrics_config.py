"""The metrics settings: redbeat_metrics_* in Celery's configuration, REDBEAT_METRICS_* in
Django's (which win)."""

from __future__ import annotations

import pytest
from celery import Celery
from django.test import override_settings

from django_redbeat.exceptions import ConfigurationError
from django_redbeat.schedulers import RedBeatConfig


@pytest.fixture
def app():
    app = Celery("metrics-config-tests", set_as_current=False)
    app.conf.redbeat_redis_url = "redis://localhost:6379/3"
    return app


def test_metrics_are_off_by_default(app):
    conf = RedBeatConfig(app)

    assert conf.metrics_port is None
    assert conf.metrics_address == "0.0.0.0"
    assert conf.metrics_entry_labels == 100


def test_celery_keys_set_them(app):
    app.conf.update(
        redbeat_metrics_port="9808",  # from an environment variable
        redbeat_metrics_address="127.0.0.1",
        redbeat_metrics_entry_labels=5,
    )

    conf = RedBeatConfig(app)

    assert (conf.metrics_port, conf.metrics_address, conf.metrics_entry_labels) == (
        9808, "127.0.0.1", 5,
    )  # fmt: skip


def test_django_settings_win(app):
    app.conf.redbeat_metrics_port = 9808
    with override_settings(REDBEAT_METRICS_PORT=0, REDBEAT_METRICS_ENTRY_LABELS=7):
        conf = RedBeatConfig(app)

    assert (conf.metrics_port, conf.metrics_entry_labels) == (0, 7)


@pytest.mark.parametrize("port", [-1, 65536, "http", True, 1.5])
def test_a_bad_port_is_refused_naming_the_key(app, port):
    app.conf.redbeat_metrics_port = port

    with pytest.raises(ConfigurationError, match="redbeat_metrics_port must be a port number"):
        RedBeatConfig(app)


def test_entry_labels_must_be_positive(app):
    app.conf.redbeat_metrics_entry_labels = 0

    with pytest.raises(ConfigurationError, match="redbeat_metrics_entry_labels"):
        RedBeatConfig(app)
