"""An entry that pauses itself: after ``pause_after_failures`` failed runs in a row (its run
policy), the worker hook disables it in Redis, with the reason beside it.

The entry is disabled as the admin disables one (``enabled`` false in its definition, out of
the schedule), and its hash gets a ``paused`` field (JSON: reason, at, by) that celery-redbeat
never reads. Redis wins: the :data:`~django_redbeat.signals.entry_paused` signal lets the Django
app mark the task's row disabled in the same process, ``redbeat_sync`` does it for a worker
without Django, and neither re-enables it; a person does, by enabling the task again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.beat.run_history import PAUSED_FIELD
from django_redbeat.beat.run_policy import PolicyError, RunPolicy
from django_redbeat.signals import entry_paused
from django_redbeat.store import keys
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf

logger = logging.getLogger(__name__)


def after_failures(app: Any, name: str, failures: int, stored_policy: str | None) -> None:
    """Pause the entry if ``failures`` in a row reach its policy's limit."""
    try:
        limit = RunPolicy.decode(stored_policy).pause_after_failures
    except PolicyError as exc:
        logger.warning("django-redbeat: %s has an unreadable run policy: %s", name, exc)
        return
    if limit is not None and failures >= limit:
        pause(app, name, f"{failures} failed runs in a row", by="worker")


def pause(app: Any, name: str, reason: str, by: str) -> bool:
    """Disable an entry in Redis and say why; False if it was not enabled (or is gone)."""
    key = keys.entry_key(ensure_conf(app).key_prefix, name)
    entry = RedBeatSchedulerEntry.from_key(key, app=app)
    if not entry.enabled:
        return False
    entry.enabled = False
    entry.save()
    at = datetime.now(timezone.utc).isoformat()
    get_redis(app).hset(key, PAUSED_FIELD, json.dumps({"reason": reason, "at": at, "by": by}))
    logger.warning("django-redbeat: paused %s: %s", name, reason)
    entry_paused.send(sender=app, entry=name, reason=reason, by=by)
    return True
