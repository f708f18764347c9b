"""django-redbeat's own signals (Celery's dispatcher: the Celery side sends them)."""

from __future__ import annotations

from celery.utils.dispatch import Signal

#: Beat has installed ``beat_schedule`` into Redis, holding the lock if one is used: at start,
#: and again whenever it takes the lock back (Redis may have lost its data meanwhile).
#: Receivers may write their own entries now.
#: provides args: sender (the RedBeatScheduler)
schedule_installed = Signal(name="schedule_installed")

#: A due run was handed to the broker: sent by this beat, once for its (entry, slot).
#: provides args: sender (the RedBeatScheduler), entry (its name), slot (the scheduled time,
#: UNIX seconds)
run_sent = Signal(name="run_sent")

#: A scheduled send raised (the broker is away, the arguments cannot be encoded...); the slot
#: is retried until ``redbeat_send_retry_window`` passes.
#: provides args: sender (the RedBeatScheduler), entry (its name), exception
send_failed = Signal(name="send_failed")

#: Slots given up on: their sends kept failing for longer than ``redbeat_send_retry_window``,
#: or their catch-up policy gave them up (catch_up.py).
#: provides args: sender (the SlotClaims), entries (their names, once per slot)
runs_missed = Signal(name="runs_missed")

#: Due runs this beat did not send: ``claimed`` (another beat claimed the slot first, or the
#: entry changed since it was read) or ``unreadable`` (the entry cannot be decoded).
#: provides args: sender, entries (their names), reason
runs_skipped = Signal(name="runs_skipped")

#: A Redis call failed with a connection or time-out error (it may be retried).
#: provides args: sender (the RetryingConnection), exception
redis_error = Signal(name="redis_error")

#: An entry paused itself (``pause_after_failures`` failed runs in a row): it is disabled in
#: Redis. Sent in the process that paused it, the worker; the Django app marks its row.
#: provides args: sender (the Celery app), entry (its name), reason, by
entry_paused = Signal(name="entry_paused")
