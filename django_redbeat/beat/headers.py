"""The headers beat adds to every task it sends."""

from __future__ import annotations

from typing import Any

from django_redbeat.decoder import from_timestamp

#: The scheduled time (ISO 8601, UTC) of the slot a task was sent for: a worker, or a beat
#: taking over, can tell which run a message is.
SCHEDULED_AT_HEADER = "redbeat_scheduled_at"

#: The entry's name, in the header django-celery-beat sends it in.
PERIODIC_TASK_NAME_HEADER = "periodic_task_name"


def with_run_headers(options: dict[str, Any], name: str, slot: float) -> dict[str, Any]:
    """``options`` with the headers that say which entry and which slot a message is for."""
    headers = {**options.get("headers", {})}
    headers[SCHEDULED_AT_HEADER] = from_timestamp(slot).isoformat()
    headers[PERIODIC_TASK_NAME_HEADER] = name
    return {**options, "headers": headers}
