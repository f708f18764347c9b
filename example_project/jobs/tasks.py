"""The jobs CELERY_BEAT_SCHEDULE runs; each logs a line and counts its run."""

from __future__ import annotations

import logging

from celery import shared_task
from jobs.models import TaskRun

logger = logging.getLogger(__name__)


@shared_task(name="jobs.heartbeat")
def heartbeat(source: str = "beat") -> int:
    count = TaskRun.record("heartbeat")
    logger.info("heartbeat #%d, sent by %s", count, source)
    return count


@shared_task(name="jobs.report")
def report() -> str:
    TaskRun.record("report")
    summary = ", ".join(f"{run.name} {run.count}" for run in TaskRun.objects.all())
    logger.info("report: runs so far: %s", summary)
    return summary


@shared_task(name="jobs.tidy_up")
def tidy_up(keep: int = 3) -> int:
    count = TaskRun.record("tidy-up")
    logger.info("tidy-up #%d: would keep the last %d reports", count, keep)
    return count
