"""Views a project may include in its URLconf.

``metrics``: the schedule's state in Prometheus' text format, read from Redis (needs the
prometheus extra)::

    path("redbeat/metrics", django_redbeat.views.metrics)

It shows entry names and the lock holder's host, never a password; protect it as you protect
your other metrics endpoints.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from django_redbeat.beat.metrics import prometheus_client
from django_redbeat.sync import bridge


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    exposition = prometheus_client()  # ConfigurationError naming the extra if it is missing
    from django_redbeat.web_metrics import registry_for

    registry = registry_for(bridge.celery_app())
    return HttpResponse(
        exposition.generate_latest(registry), content_type=exposition.CONTENT_TYPE_LATEST
    )
