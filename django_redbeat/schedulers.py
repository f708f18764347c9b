"""The import surface celery-redbeat users know: ``redbeat.schedulers`` becomes this module.

celery -A proj beat -S django_redbeat.schedulers:RedBeatScheduler
"""

from __future__ import annotations

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.beat.scheduler import (
    RedBeatScheduler,
    acquire_distributed_beat_lock,
    logger,
)
from django_redbeat.store.connection import RetryingConnection, get_redis
from django_redbeat.store.redbeat_config import RedBeatConfig, ensure_conf

__all__ = [
    "RedBeatConfig",
    "RedBeatScheduler",
    "RedBeatSchedulerEntry",
    "RetryingConnection",
    "acquire_distributed_beat_lock",
    "ensure_conf",
    "get_redis",
    "logger",
]
