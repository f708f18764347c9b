"""The scheduler ``redbeat_run`` runs: a RedBeatScheduler whose schedule is the database.

Beat itself reads Redis only; this subclass touches the database once per lock taken, to tell
which static entries the database now owns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import DatabaseError, close_old_connections

from django_redbeat.beat.scheduler import RedBeatScheduler
from django_redbeat.models import PeriodicTask
from django_redbeat.store.connection import get_redis
from django_redbeat.sync import bridge

logger = logging.getLogger("celery.beat")


class DatabaseScheduler(RedBeatScheduler):
    """RedBeatScheduler for a Django project, where the database is the schedule.

    ``beat_schedule`` (``CELERY_BEAT_SCHEDULE``) is not installed as static entries:
    ``redbeat_import`` brings it into the database, where the admin edits it and where a task
    deleted stays deleted. Celery's own default entries (the result backend cleanup) still are.
    Names the database owns leave the statics set first, so that switching from celery-redbeat
    keeps their run state rather than deleting them as statics no longer configured.
    """

    def static_schedule(self) -> dict[str, Any]:
        return {}  # the database is the schedule: redbeat_import brings beat_schedule there

    def install_statics(self) -> None:
        close_old_connections()  # beat is long-lived: the last connection may have timed out
        try:
            self._adopt_database_names()
        except DatabaseError as exc:  # statics stay pending: tried again at the next tick
            logger.error("beat: The database cannot be read (%s); trying again shortly", exc)
            return
        super().install_statics()  # its schedule_installed signal rebuilds the tasks in Redis

    def _adopt_database_names(self) -> None:
        conf = self.app.redbeat_conf
        client = get_redis(self.app)
        statics = client.smembers(conf.statics_key)
        if not statics:
            return
        owned = database_names(statics)
        if owned:
            client.srem(conf.statics_key, *owned)


def database_names(names: Iterable[str]) -> set[str]:
    """Those of ``names`` that a task has: looked up in chunks (SQLite limits the parameters of
    a query), or, for as many names as there are tasks, in one read of every task's name."""
    names = list(names)
    tasks = PeriodicTask.objects.all()
    if len(names) > bridge.QUERY_CHUNK and tasks.count() < 2 * len(names):
        # reading every name is cheaper than looking as many up (bench/results/profile.md)
        return set(names) & set(tasks.values_list("name", flat=True))
    found: set[str] = set()
    for chunk in bridge.filter_in_chunks(tasks, "name", names):
        found.update(chunk.values_list("name", flat=True))
    return found
