"""bridge.py: rows become entries in Redis, written through RedBeatSchedulerEntry."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta, timezone

import pytest
from celery import current_app
from django.test import override_settings

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.decoder import dumps
from django_redbeat.exceptions import ConfigurationError
from django_redbeat.models import PeriodicTask
from django_redbeat.sync import bridge
from tests.django_fixtures import make_task

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

UTC = timezone.utc
SCHEDULE = "redbeat::schedule"


make_task = functools.partial(make_task, every=1, period="minutes")


def test_the_wire_format_is_the_engines(redis_client, celery_app):
    make_task(args=[1, 2], kwargs={"z": 3}, priority=5, expire_seconds=30)
    definition = json.loads(redis_client.hget("redbeat:job", "definition"))
    assert definition == {
        "name": "job",
        "task": "tests.add",
        "args": [1, 2],
        "kwargs": {"z": 3},
        "options": {"priority": 5, "expires": 30},
        "schedule": {"__type__": "interval", "every": 60.0, "relative": False},
        "enabled": True,
    }
    assert redis_client.hget("redbeat:job", bridge.MANAGED_FIELD) == bridge.MANAGED_BY


def test_a_crontab_in_its_own_zone_is_written_zoned(redis_client):
    make_task(kind="crontab", minute="0", hour="9", timezone="Europe/Paris")
    schedule = json.loads(redis_client.hget("redbeat:job", "definition"))["schedule"]
    assert schedule["__type__"] == "zoned"
    assert schedule["timezone"] == "Europe/Paris"
    assert schedule["schedule"]["__type__"] == "crontab"


def test_reset_run_state_forgets_the_runs(celery_app, redis_client, clock):
    row = make_task()
    last_run = clock() - timedelta(seconds=30)
    redis_client.hset(
        "redbeat:job", "meta", dumps({"last_run_at": last_run, "total_run_count": 4})
    )
    assert bridge.reset_run_state([row]) == []
    entry = RedBeatSchedulerEntry.from_key("redbeat:job", app=celery_app)
    assert (entry.last_run_at, entry.total_run_count) == (clock(), 0)
    assert (
        redis_client.zscore(SCHEDULE, "redbeat:job")
        == (clock() + timedelta(minutes=1)).timestamp()
    )


def test_read_run_states_in_one_round_trip(counting_redis, redis_client, clock):
    make_task(name="a")
    make_task(name="b", enabled=False)
    last_run = datetime(2026, 1, 15, 11, 59, 30, tzinfo=UTC)
    redis_client.hset("redbeat:a", "meta", dumps({"last_run_at": last_run, "total_run_count": 3}))
    counting_redis.round_trips = 0
    states = bridge.read_run_states(["a", "b", "nowhere"])
    assert counting_redis.round_trips == 1
    next_run = clock() + timedelta(minutes=1)  # the score written when it was saved
    assert states["a"] == bridge.RunState(True, next_run, last_run, 3)
    assert states["b"].in_redis and states["b"].next_run_at is None
    assert states["nowhere"] == bridge.RunState(in_redis=False)


def test_an_invalid_row_is_reported_not_written(redis_client, caplog):
    PeriodicTask.objects.bulk_create(
        [PeriodicTask(name="bad", task="t", kind="crontab", minute="99")]
    )
    with bridge.collect_failures() as failures:
        bridge.sync_names(["bad"])
    assert [failure.name for failure in failures] == ["bad"]
    assert "invalid schedule" in failures[0].reason
    assert redis_client.exists("redbeat:bad") == 0
    assert "'bad'" in caplog.text


def test_failures_are_collected_only_inside_the_block(own_redis):
    own_redis.stop()
    with bridge.collect_failures() as failures:
        make_task()
    assert [failure.name for failure in failures] == ["job"]
    assert "ConnectionError" in failures[0].reason
    assert bridge.sync_names(["job"])[0].name == "job"  # outside: returned, logged, not collected
    assert len(failures) == 1


def test_remove_names_deletes_only_what_the_database_owns(celery_app, redis_client):
    make_task(name="owned")
    RedBeatSchedulerEntry("foreign", "tests.add", 60, app=celery_app).save()
    bridge.remove_names(["owned", "foreign", "absent"])
    assert redis_client.exists("redbeat:owned") == 0
    assert redis_client.zscore(SCHEDULE, "redbeat:owned") is None
    assert redis_client.exists("redbeat:foreign") == 1


def test_the_celery_app_comes_from_the_setting(celery_app):
    assert bridge.celery_app() is celery_app
    bad_path = override_settings(REDBEAT_CELERY_APP="tests.no_such_module.app")
    with bad_path, pytest.raises(ConfigurationError, match="REDBEAT_CELERY_APP"):
        bridge.celery_app()


def test_without_the_setting_it_is_celerys_current_app(celery_app):
    previous = current_app._get_current_object()
    celery_app.set_current()
    try:
        with override_settings(REDBEAT_CELERY_APP=None):
            assert bridge.celery_app() is celery_app
    finally:
        previous.set_current()
