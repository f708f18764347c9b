"""celery-redbeat's ``beat_init`` receiver, kept away from our beats.

Once ``redbeat.schedulers`` (celery-redbeat) is imported, its module-level receiver of Celery's
``beat_init`` takes the lock of whatever scheduler beat runs: for ours it takes our lock key with
a token of its own, which nothing renews, waits for as long as another beat holds it, and leaves
a redis-py ``Lock`` in ``scheduler.lock``. The module is imported without the user asking:
sentry-sdk's Celery integration imports it whenever celery-redbeat is installed (to wrap its
scheduler), and a settings file may import its ``rrule``. A process whose beat is ours has no
use for that receiver, so our scheduler disconnects it, and lets go of a lock it took anyway.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery.signals import beat_init
from redis.exceptions import LockError, RedisError

logger = logging.getLogger("celery.beat")

#: celery-redbeat's module, which connects the receiver when imported.
MODULE = "redbeat.schedulers"


def disconnect() -> None:
    """Disconnect celery-redbeat's receiver, if its module is imported (else nothing to do)."""
    module = sys.modules.get(MODULE)
    receiver = getattr(module, "acquire_distributed_beat_lock", None)
    if receiver is not None and beat_init.disconnect(receiver):
        logger.info("beat: celery-redbeat's beat_init receiver disconnected: this beat is ours")


def let_go(lock: Any) -> None:
    """Release ``lock``, a redis-py Lock that celery-redbeat's receiver took in this process."""
    logger.warning("beat: Releasing the lock celery-redbeat's beat_init receiver took for us")
    try:
        lock.release()
    except (LockError, RedisError) as exc:  # expired, or Redis is away: it lapses by itself
        logger.warning("beat: Could not release celery-redbeat's lock: %s", exc)
