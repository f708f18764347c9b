"""The import surface celery-redbeat users know: ``redbeat.schedulers`` becomes this module.

celery -A proj beat -S django_redbeat.schedulers:RedBeatScheduler
"""

from __future__ import annotations

from django_redbeat.config import RedBeatConfig, ensure_conf
from django_redbeat.connection import RetryingConnection, get_redis
from django_redbeat.entry import RedBeatSchedulerEntry
from django_redbeat.scheduler import (
    RedBeatScheduler,
    acquire_distributed_beat_lock,
    logger,
)

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
