"""Signal receivers: each saved or deleted PeriodicTask reaches Redis after its commit, and a
starting beat rebuilds what Redis lost.

They only name what changed; :func:`bridge.sync_names` reads the committed rows when the
transaction commits, so a rolled-back save never reaches Redis and a rename removes the old name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save

from django_redbeat.beat import worker_hook
from django_redbeat.beat.scheduler import RedBeatScheduler
from django_redbeat.conf import conf
from django_redbeat.models import PeriodicTask, rows_changed
from django_redbeat.signals import entry_paused, schedule_installed
from django_redbeat.sync import bridge, pauses

#: Where pre_save leaves a task's name as the database had it, for post_save to see a rename.
PREVIOUS_NAME = "_redbeat_previous_name"


def remember_name(sender: type[PeriodicTask], instance: PeriodicTask, **kwargs: Any) -> None:
    previous = None
    if instance.pk is not None and not kwargs.get("raw"):
        manager = sender._default_manager.using(kwargs.get("using"))
        previous = manager.filter(pk=instance.pk).values_list("name", flat=True).first()
    setattr(instance, PREVIOUS_NAME, previous)


def task_saved(sender: type[PeriodicTask], instance: PeriodicTask, **kwargs: Any) -> None:
    names = {instance.name, getattr(instance, PREVIOUS_NAME, None)} - {None}
    bridge.sync_after_commit(names, using=kwargs.get("using"))


def task_deleted(sender: type[PeriodicTask], instance: PeriodicTask, **kwargs: Any) -> None:
    bridge.sync_after_commit({instance.name}, using=kwargs.get("using"))


def rows_changed_in_bulk(
    sender: type[PeriodicTask], names: Iterable[str], created: list[PeriodicTask], **kwargs: Any
) -> None:
    using = kwargs.get("using")
    if created:
        bridge.sync_tasks_after_commit(created, using=using)
    if names:
        bridge.sync_after_commit(names, using=using)


def rebuild_on_schedule_installed(sender: RedBeatScheduler, **kwargs: Any) -> None:
    """Beat, holding the lock, writes every task again: Redis may have lost its data (a flush,
    an eviction, a new server) while the database kept it. Run state still in Redis is kept."""
    bridge.rebuild(sender.app)


def row_of_paused_entry(sender: Any, entry: str, **kwargs: Any) -> None:
    """An entry paused itself in this process (a worker with Django): its row says so too,
    with the pause's reason (its time is this moment: the signal does not carry Redis's)."""
    at = datetime.now(timezone.utc).isoformat()
    pauses.disable_rows(
        {entry: {"reason": kwargs.get("reason"), "by": kwargs.get("by"), "at": at}}
    )


def connect() -> None:
    uid = "django_redbeat.{}"
    pre_save.connect(remember_name, sender=PeriodicTask, dispatch_uid=uid.format("pre_save"))
    post_save.connect(task_saved, sender=PeriodicTask, dispatch_uid=uid.format("post_save"))
    post_delete.connect(task_deleted, sender=PeriodicTask, dispatch_uid=uid.format("delete"))
    rows_changed.connect(
        rows_changed_in_bulk, sender=PeriodicTask, dispatch_uid=uid.format("bulk")
    )
    # sent by any RedBeatScheduler (or subclass), so no sender= narrows it
    schedule_installed.connect(rebuild_on_schedule_installed, dispatch_uid=uid.format("beat"))
    entry_paused.connect(row_of_paused_entry, dispatch_uid=uid.format("paused"))
    if conf.REDBEAT_WORKER_HOOK:
        worker_hook.install()
