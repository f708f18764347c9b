"""``manage.py redbeat_health``: exit 0 if the beat on this host is healthy, else 1.

It asks the beat's own ``/healthz`` (on its metrics port): only that process knows whether its
loop still ticks. For exec probes (Kubernetes ``exec``, Docker ``HEALTHCHECK``) where no HTTP
client is at hand.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_redbeat.beat.metrics_server import HEALTH_PATH
from django_redbeat.exceptions import RedBeatError
from django_redbeat.store.redbeat_config import ensure_conf
from django_redbeat.sync import bridge


class Command(BaseCommand):
    help = (
        "Exit 0 if the beat on this host is healthy (it holds the lock and ticks on time, or "
        "stands by while another beat holds it), else 1. Asks beat's /healthz on its metrics "
        "port (redbeat_run --metrics-port, REDBEAT_METRICS_PORT)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Beat's host (default: this).")
        parser.add_argument(
            "--port", type=int, help="Beat's metrics port (default: REDBEAT_METRICS_PORT)."
        )
        parser.add_argument(
            "--timeout", type=float, default=5.0, help="Seconds to wait for beat (default: 5)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"] or self._configured_port()
        url = f"http://{options['host']}:{port}{HEALTH_PATH}"
        healthy, reason = ask(url, options["timeout"])
        if not healthy:
            raise CommandError(f"unhealthy: {reason}")
        self.stdout.write(f"healthy: {reason}")

    @staticmethod
    def _configured_port() -> int:
        try:
            port = ensure_conf(bridge.celery_app()).metrics_port
        except RedBeatError as exc:
            raise CommandError(str(exc)) from exc
        if not port:
            raise CommandError(
                "No metrics port: pass --port, or set REDBEAT_METRICS_PORT to the port beat "
                "serves its metrics on."
            )
        return port


def ask(url: str, timeout: float) -> tuple[bool, str]:
    """What beat's health endpoint at ``url`` says: (healthy, reason)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return _read(response.read())
    except urllib.error.HTTPError as exc:  # 503: beat answered that it is unhealthy
        return _read(exc.read())
    except OSError as exc:  # refused, timed out: no beat answers there
        return False, f"no beat answers at {url} ({exc})"


def _read(body: bytes) -> tuple[bool, str]:
    try:
        found = json.loads(body)
        return bool(found["healthy"]), str(found["reason"])
    except (ValueError, KeyError, TypeError):
        return False, f"not a health answer: {body[:100]!r}"
