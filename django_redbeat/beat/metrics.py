"""Beat's Prometheus endpoint, turned on by ``redbeat_metrics_port`` (REDBEAT_METRICS_PORT).

prometheus-client is an optional extra (``django-redbeat[prometheus]``): it is imported only when
a port is configured, so beat without the extra runs as before.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from django_redbeat.exceptions import ConfigurationError

if TYPE_CHECKING:
    from django_redbeat.beat.beat_metrics import BeatMetrics


def prometheus_client() -> ModuleType:
    """The prometheus_client module; ConfigurationError saying how to install it if missing."""
    try:
        return importlib.import_module("prometheus_client")
    except ImportError:
        raise ConfigurationError(
            "Metrics need prometheus-client: pip install 'django-redbeat[prometheus]'."
        ) from None


def attach(scheduler: Any) -> BeatMetrics | None:
    """Start the metrics endpoint for ``scheduler`` if its app configures a port, else None."""
    conf = scheduler.app.redbeat_conf
    if conf.metrics_port is None:
        return None
    prometheus_client()
    from django_redbeat.beat.beat_metrics import BeatMetrics

    try:
        return BeatMetrics(scheduler).serve(conf.metrics_address, conf.metrics_port)
    except OSError as exc:  # the port is taken, or the address is not this host's
        raise ConfigurationError(
            f"Cannot serve metrics on {conf.metrics_address}:{conf.metrics_port} ({exc}): set "
            "redbeat_metrics_port (REDBEAT_METRICS_PORT) to a free port, or 0 for any."
        ) from exc
