"""The worker's side: what happened to each run beat sent, told back to Redis.

``install()`` connects receivers to Celery's task signals in the worker (the Django app does it
by itself unless ``REDBEAT_WORKER_HOOK = False``; a plain Celery app calls it from its own
module). For a task that beat sent (it carries the ``periodic_task_name`` and
``redbeat_scheduled_at`` headers) each signal is one script call that writes the outcome into
the run's history record, counts failures (``failed_run_count``, ``consecutive_failures``, reset
by a success) and, once the run is over, drops the entry's running marker so that an entry under
the ``skip`` or ``buffer_one`` overlap policy runs again (a buffered slot is put back in the
schedule and beat woken). The marker lives ``overlap_timeout`` seconds from the send, so a
worker that dies never blocks its entry for longer. After ``pause_after_failures`` consecutive
failures the entry pauses itself (pause.py). Tasks that beat did not send cost a header lookup.

Nothing here imports Django: it runs in any Celery worker. A Redis error is logged, never
raised into the task.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from celery import signals

from django_redbeat.beat import pause, run_history
from django_redbeat.beat.headers import PERIODIC_TASK_NAME_HEADER, SCHEDULED_AT_HEADER
from django_redbeat.store import keys
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf

logger = logging.getLogger(__name__)

#: KEYS[1] the entry's hash, KEYS[2] its history, KEYS[3] its running marker, KEYS[4] the
#: schedule. ARGV[1] the task id, ARGV[2] the outcome, ARGV[3] the record's new outcome part
#: (JSON: the outcome, then members of its own). An entry that is gone is left alone.
#: Returns the consecutive failures (0 unless this run failed), the entry's ``policy`` field
#: (false if it has none) and 1 if a buffered slot was put back in the schedule.
OUTCOME = (
    run_history.LUA
    + """
if redis.call('HEXISTS', KEYS[1], 'definition') == 0 then
    return {0, false, 0}
end
local outcome = ARGV[2]
local at, record = find_record(KEYS[2], ARGV[1])
if at then
    local now = stamp(redis.call('TIME'))
    redis.call('LSET', KEYS[2], at, with_outcome(record, ARGV[3], outcome, now))
end
local failures = 0
if outcome == 'failed' then
    redis.call('HINCRBY', KEYS[1], 'failed_run_count', 1)
    failures = redis.call('HINCRBY', KEYS[1], 'consecutive_failures', 1)
elseif outcome == 'succeeded' then
    redis.call('HDEL', KEYS[1], 'consecutive_failures')
end
local woken = 0
local over = outcome == 'succeeded' or outcome == 'failed' or outcome == 'revoked'
if over and redis.call('GET', KEYS[3]) == ARGV[1] then
    redis.call('DEL', KEYS[3])
    local buffered = redis.call('HGET', KEYS[1], 'buffered')
    local score = redis.call('ZSCORE', KEYS[4], KEYS[1])
    if buffered and score and tonumber(score) >= 0 then
        redis.call('ZADD', KEYS[4], buffered, KEYS[1])
        woken = 1
    end
end
return {failures, redis.call('HGET', KEYS[1], 'policy') or false, woken}
"""
)


def install(app: Any = None) -> None:
    """Connect the receivers (again is harmless). ``app`` is accepted for symmetry with other
    Celery extensions: the receivers read the app of each task."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, weak=False, dispatch_uid=f"django_redbeat.{receiver.__name__}")


def uninstall() -> None:
    for signal, receiver in RECEIVERS:
        signal.disconnect(receiver, dispatch_uid=f"django_redbeat.{receiver.__name__}")


def started(sender: Any = None, task_id: str = "", task: Any = None, **_: Any) -> None:
    report(task, task.request, task_id, "started")


def finished(sender: Any = None, task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    if kwargs.get("state") == "SUCCESS":  # failures and retries have their own signals
        report(task, task.request, task_id, "succeeded")


def failed(sender: Any = None, task_id: str = "", exception: Any = None, **_: Any) -> None:
    report(sender, sender.request, task_id, "failed", error=type(exception).__name__)


def retried(sender: Any = None, request: Any = None, **_: Any) -> None:
    report(sender, request, request.id, "retried")


def revoked(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    reason = (
        "expired" if kwargs.get("expired") else "terminated" if kwargs.get("terminated") else ""
    )
    report(sender, request, request.id, "revoked", **({"reason": reason} if reason else {}))


RECEIVERS = (
    (signals.task_prerun, started),
    (signals.task_postrun, finished),
    (signals.task_failure, failed),
    (signals.task_retry, retried),
    (signals.task_revoked, revoked),
)


def header(request: Any, name: str) -> Any:
    """A header of the message, from a task's request context (custom headers are attributes)
    or a worker's request (a dict of them)."""
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


def report(task: Any, request: Any, task_id: str, outcome: str, **members: str) -> None:
    """Tell Redis a run's outcome, if beat sent it; a failure to do so is only logged."""
    name = header(request, PERIODIC_TASK_NAME_HEADER)
    if not name or header(request, SCHEDULED_AT_HEADER) is None:
        return
    app = getattr(task, "app", None)
    try:
        write_outcome(app, name, task_id, outcome, members)
    except Exception as exc:  # the task's own outcome must not depend on Redis
        logger.warning(
            "django-redbeat: could not record %s of %s (%s): %s", outcome, name, task_id, exc
        )


def write_outcome(
    app: Any, name: str, task_id: str, outcome: str, members: dict[str, str]
) -> None:
    conf, client = ensure_conf(app), get_redis(app)
    prefix = conf.key_prefix
    entry_key = keys.entry_key(prefix, name)
    tail = json.dumps(outcome) + "".join(
        f",{json.dumps(k)}:{json.dumps(v)}" for k, v in members.items()
    )
    run_keys = [entry_key, keys.history_key(prefix, name), keys.running_key(prefix, name)]
    failures, policy, woken = _script(client)(
        keys=[*run_keys, conf.schedule_key], args=[task_id, outcome, tail]
    )
    if woken:
        client.publish(keys.wakeup_channel(prefix), keys.WAKEUP_MESSAGE)
    if failures:
        pause.after_failures(app, name, int(failures), policy)


@functools.lru_cache(maxsize=8)
def _script(client: Any) -> Any:
    return client.register_script(OUTCOME)
