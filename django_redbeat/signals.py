"""django-redbeat's own signals (Celery's dispatcher: the Celery side sends them)."""

from __future__ import annotations

from celery.utils.dispatch import Signal

#: Beat has installed ``beat_schedule`` into Redis, holding the lock if one is used: at start,
#: and again whenever it takes the lock back (Redis may have lost its data meanwhile).
#: Receivers may write their own entries now.
#: provides args: sender (the RedBeatScheduler)
schedule_installed = Signal(name="schedule_installed")
