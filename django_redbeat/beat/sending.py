"""Sending one claimed run, through Celery's ``Scheduler.apply_entry`` as Celery's own beat does.

``apply_entry`` is where tools that watch beat hook in: sentry-sdk's Crons integration wraps it
to add its monitor headers to the entry's options and send the ``in_progress`` check-in. Going
through it, not straight to ``apply_async``, lets them see every run this scheduler sends.
Celery's ``apply_entry`` logs a failed send and swallows the error, so ``apply_async`` here
notes what became of each send, and the caller, which gives a failed slot back, reads it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django_redbeat.beat.headers import with_run_headers
from django_redbeat.signals import run_sent, send_failed

if TYPE_CHECKING:
    from django_redbeat.beat.slot_claims import Claim

logger = logging.getLogger("celery.beat")


class NotSent(Exception):
    """``apply_entry`` returned without reaching ``apply_async`` (a wrapper of it stopped)."""


class ApplyEntrySender:
    """The send half of RedBeatScheduler (a mixin before Celery's ``Scheduler``)."""

    #: What became of the send in progress: None once sent, else why it was not.
    _send_error: BaseException | None = None

    def _send(self, claim: Claim) -> bool:
        """Send ``claim``'s run with the headers that name its entry and slot; False if it
        could not be sent (the caller gives the slot back or counts it missed)."""
        entry = claim.entry
        options = with_run_headers(entry.options, entry.name, claim.run_slot)
        entry.options = {**options, "task_id": claim.task_id}
        self._send_error = NotSent(entry.name)
        try:
            # the producer by keyword: wrappers unpack the positional ones as (scheduler, entry)
            self.apply_entry(entry, producer=self.producer)  # type: ignore[attr-defined]
        except Exception as exc:  # raised by a wrapper of apply_entry: not Celery's, which logs
            self._send_error = exc
        if self._send_error is not None:
            logger.error("beat: Sending %s failed: %s", entry.name, self._send_error)
            send_failed.send(sender=self, entry=entry.name, exception=self._send_error)
            return False
        run_sent.send(sender=self, entry=entry.name, slot=claim.run_slot)
        return True

    def apply_async(
        self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        try:
            result = super().apply_async(entry, producer, advance, **kwargs)  # type: ignore[misc]
        except Exception as exc:
            self._send_error = exc
            raise  # to apply_entry, which logs it with its traceback
        self._send_error = None
        return result
