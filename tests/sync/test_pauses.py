"""An entry that paused itself (pause on failure) seen from the database: Redis wins until a
person enables the task again."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import QuerySet
from django.utils import timezone

from django_redbeat.beat import pause
from django_redbeat.models import PeriodicTask
from django_redbeat.signals import entry_paused
from django_redbeat.sync import bridge
from tests.django_fixtures import make_task, stored

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

SCHEDULE = "redbeat::schedule"


def paused_in_redis(celery_app, name="job") -> None:
    """What the worker hook does after the failures, without the Django receiver: the row is
    left enabled, as a worker without Django leaves it."""
    receivers = entry_paused.receivers
    entry_paused.receivers = []
    try:
        assert pause.pause(celery_app, name, "3 failed runs in a row", by="worker")
    finally:
        entry_paused.receivers = receivers


def test_the_pause_disables_the_entry_and_the_row_in_a_django_process(celery_app, redis_client):
    row = make_task()

    assert pause.pause(celery_app, "job", "3 failed runs in a row", by="worker")

    assert not stored(celery_app).enabled
    assert redis_client.zscore(SCHEDULE, "redbeat:job") == -1
    assert PeriodicTask.objects.get(pk=row.pk).enabled is False
    assert not pause.pause(celery_app, "job", "again", by="worker")  # paused once


def test_redbeat_sync_keeps_the_pause_and_the_repair_disables_the_row(celery_app, redis_client):
    row = make_task()
    paused_in_redis(celery_app)

    out = StringIO()
    call_command("redbeat_sync", stdout=out)
    assert out.getvalue() == "Redis matches the database.\n"
    assert PeriodicTask.objects.get(pk=row.pk).enabled is True  # a report writes nothing
    call_command("redbeat_sync", "--repair", stdout=StringIO())

    assert not stored(celery_app).enabled
    assert PeriodicTask.objects.get(pk=row.pk).enabled is False


def test_a_sync_of_the_row_as_it_was_keeps_the_pause(celery_app, redis_client):
    row = make_task()
    paused_in_redis(celery_app)

    bridge.sync_tasks([PeriodicTask.objects.get(pk=row.pk)])
    bridge.rebuild(celery_app)

    assert not stored(celery_app).enabled
    assert PeriodicTask.objects.get(pk=row.pk).enabled is False
    assert redis_client.hexists("redbeat:job", "paused")


def test_enabling_the_task_after_the_pause_resumes_it(celery_app, redis_client):
    row = make_task()
    paused_in_redis(celery_app)
    redis_client.hset("redbeat:job", "consecutive_failures", 3)
    PeriodicTask.objects.filter(pk=row.pk).update(enabled=False)  # as the pause left it

    task = PeriodicTask.objects.get(pk=row.pk)
    task.enabled = True
    task.save()  # a person, in the admin

    assert stored(celery_app).enabled
    assert redis_client.zscore(SCHEDULE, "redbeat:job") > 0
    assert not redis_client.hexists("redbeat:job", "paused")
    assert not redis_client.hexists("redbeat:job", "consecutive_failures")


def test_the_repair_lifts_the_pause_of_a_task_enabled_since(celery_app, redis_client):
    row = make_task()
    paused_in_redis(celery_app)
    redis_client.hset("redbeat:job", "consecutive_failures", 3)
    # enabled after the pause by a write that syncs nothing (raw SQL, say)
    later = timezone.now() + timedelta(seconds=1)
    QuerySet.update(PeriodicTask.objects.filter(pk=row.pk), enabled=True, date_changed=later)

    call_command("redbeat_sync", stdout=StringIO())  # a report writes nothing
    assert redis_client.hexists("redbeat:job", "paused")
    call_command("redbeat_sync", "--repair", stdout=StringIO())

    assert stored(celery_app).enabled
    assert not redis_client.hexists("redbeat:job", "paused")
    assert not redis_client.hexists("redbeat:job", "consecutive_failures")
