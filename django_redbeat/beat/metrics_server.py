"""The HTTP endpoint beat serves in a daemon thread: ``/metrics`` (Prometheus' text format, from
prometheus-client's WSGI app) and ``/healthz`` (200 or 503 with a JSON reason)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from django_redbeat.beat.health import Health

logger = logging.getLogger("celery.beat")

HEALTH_PATH = "/healthz"

StartResponse = Callable[..., Any]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper never holds beat's shutdown


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes come every few seconds: not one log line each."""


class MetricsServer:
    """Serves ``registry`` and ``health`` on ``address:port`` (port 0: any free port)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        health: Callable[[], Health],
        address: str,
        port: int,
    ) -> None:
        self._metrics = make_wsgi_app(registry)
        self._health = health
        server_class = _Server6 if ":" in address else _Server
        self._server = make_server(
            address, port, self._app, server_class=server_class, handler_class=_QuietHandler
        )
        self.address = address
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="redbeat-metrics", daemon=True
        )

    def start(self) -> MetricsServer:
        self._thread.start()
        logger.info(
            "beat: Metrics on http://%s:%d/metrics, health on %s",
            self.address, self.port, HEALTH_PATH,
        )  # fmt: skip
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            return self._health_response(start_response)
        return self._metrics(environ, start_response)  # type: ignore[no-any-return]

    def _health_response(self, start_response: StartResponse) -> Iterable[bytes]:
        health = self._health()
        body = json.dumps({"healthy": health.healthy, "reason": health.reason}).encode()
        status = "200 OK" if health.healthy else "503 Service Unavailable"
        start_response(status, [("Content-Type", "application/json")])
        return [body]
