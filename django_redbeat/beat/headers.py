"""The headers beat adds to every task it sends."""

from __future__ import annotations

#: The scheduled time (ISO 8601, UTC) of the slot a task was sent for: a worker, or a beat
#: taking over, can tell which run a message is.
SCHEDULED_AT_HEADER = "redbeat_scheduled_at"

#: The entry's name, in the header django-celery-beat sends it in.
PERIODIC_TASK_NAME_HEADER = "periodic_task_name"
