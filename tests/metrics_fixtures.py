"""Fixtures and helpers for the metrics tests: a scheduler serving its metrics on a free
loopback port, and a scrape of it parsed from the exposition text."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from django_redbeat.schedulers import RedBeatScheduler


def parse(text: str) -> dict[tuple, float]:
    """Exposition text as {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape_port(port: int, path: str = "/metrics") -> dict[tuple, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return parse(response.read().decode())


def scrape(beat: RedBeatScheduler) -> dict[tuple, float]:
    return scrape_port(beat.metrics.server.port)


def value(samples: dict[tuple, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def healthz(beat: RedBeatScheduler) -> tuple[int, dict]:
    """The status code and JSON body of the beat's /healthz."""
    url = f"http://127.0.0.1:{beat.metrics.server.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def metrics_app(celery_app):
    celery_app.conf.redbeat_metrics_port = 0  # any free port
    celery_app.conf.redbeat_metrics_address = "127.0.0.1"
    return celery_app


@pytest.fixture
def metrics_beat(metrics_app) -> Iterator[RedBeatScheduler]:
    scheduler = RedBeatScheduler(app=metrics_app)
    yield scheduler
    scheduler.close()
