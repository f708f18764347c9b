"""Pausing in the admin: who, when and why, in the row and in the entry's ``paused`` field,
shown in the list and on the change page; enabling clears it."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from django_redbeat.beat import pause
from django_redbeat.models import PeriodicTask
from django_redbeat.signals import entry_paused
from django_redbeat.sync import bridge
from tests.django_fixtures import make_task, stored
from tests.test_admin import LIST_URL, change_url, form_data, messages_of, run_action

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

SCHEDULE = "redbeat::schedule"


def stored_pause(redis_client, name: str = "job") -> dict | None:
    value = redis_client.hget("redbeat:" + name, "paused")
    return None if value is None else json.loads(value)


def pause_action(client, *rows, reason=None):
    """The action as the list posts it; with a reason, as its confirmation page then posts it."""
    data = {"action": "pause_with_reason", "_selected_action": [row.pk for row in rows]}
    if reason is not None:
        data.update(post="yes", reason=reason)
    return client.post(LIST_URL, data, follow=True)


def test_the_action_asks_for_the_reason_on_a_page_of_its_own(admin_client, redis_client):
    make_task(name="a")
    make_task(name="b")
    page = pause_action(admin_client, *PeriodicTask.objects.all())
    html = page.content.decode()
    assert page.templates[0].name.endswith("pause_confirmation.html")
    assert 'name="reason"' in html and "<li>a</li>" in html and "<li>b</li>" in html
    assert PeriodicTask.objects.filter(enabled=True).count() == 2  # nothing paused yet
    assert redis_client.zscore(SCHEDULE, "redbeat:a") > 0


def test_the_action_records_who_when_and_why_in_the_row_and_in_redis(
    admin_client, celery_app, redis_client
):
    row = make_task()
    make_task(name="other")
    before = datetime.now().astimezone()
    response = pause_action(admin_client, row, reason="The billing API is down")
    assert messages_of(response) == ["1 task paused."]
    row.refresh_from_db()
    assert (row.enabled, row.paused_by, row.paused_reason) == (
        False, "admin", "The billing API is down",
    )  # fmt: skip
    assert row.paused_at >= before
    assert not stored(celery_app).enabled
    assert redis_client.zscore(SCHEDULE, "redbeat:job") == -1
    assert stored_pause(redis_client) == {
        "reason": "The billing API is down", "at": row.paused_at.isoformat(), "by": "admin",
    }  # fmt: skip
    assert redis_client.zscore(SCHEDULE, "redbeat:other") > 0  # the other one untouched
    assert stored_pause(redis_client, "other") is None


def test_the_list_shows_the_reason_and_who_paused_it_when(admin_client):
    row = make_task()
    pause_action(admin_client, row, reason="The billing API is down")
    html = admin_client.get(LIST_URL).content.decode()
    cell = html.split('class="field-status"', 1)[1].split("</td>", 1)[0]
    assert "icon-no.svg" in cell
    assert "The billing API is down" in cell
    assert 'title="Paused by admin at ' in cell


def test_the_change_page_shows_the_pause(admin_client):
    row = make_task()
    pause_action(admin_client, row, reason="The billing API is down")
    html = admin_client.get(change_url(row)).content.decode()
    assert "Paused by admin at " in html
    assert "The billing API is down" in html


@pytest.mark.parametrize("how", ["action", "form"])
def test_enabling_clears_the_pause_in_the_row_and_in_redis(admin_client, redis_client, how):
    row = make_task()
    pause_action(admin_client, row, reason="maintenance")
    assert stored_pause(redis_client) is not None
    if how == "action":
        assert messages_of(run_action(admin_client, "enable", row)) == ["1 task enabled."]
    else:
        admin_client.post(change_url(row), form_data(paused_reason="maintenance"), follow=True)
    row.refresh_from_db()
    assert (row.enabled, row.paused_at, row.paused_by, row.paused_reason) == (True, None, "", "")
    assert stored_pause(redis_client) is None
    assert redis_client.zscore(SCHEDULE, "redbeat:job") > 0
    assert 'class="redbeat-pause"' not in admin_client.get(LIST_URL).content.decode()


def test_disabling_on_the_change_form_records_the_pause(admin_client, redis_client):
    row = make_task()
    admin_client.post(
        change_url(row), form_data(enabled=None, paused_reason="until Monday"), follow=True
    )
    row.refresh_from_db()
    assert (row.enabled, row.paused_by, row.paused_reason) == (False, "admin", "until Monday")
    assert stored_pause(redis_client)["reason"] == "until Monday"
    # a later save that keeps the pause keeps who and when
    paused_at = row.paused_at
    admin_client.post(
        change_url(row), form_data(enabled=None, paused_reason="until Monday", every="7"),
        follow=True,
    )  # fmt: skip
    row.refresh_from_db()
    assert (row.every, row.paused_at) == (7, paused_at)


def test_the_disable_action_records_who_and_when(admin_client, redis_client):
    row = make_task()
    assert messages_of(run_action(admin_client, "disable", row)) == ["1 task disabled."]
    row.refresh_from_db()
    assert (row.enabled, row.paused_by, row.paused_reason) == (False, "admin", "")
    assert stored_pause(redis_client)["by"] == "admin"


def test_a_pause_after_failures_shows_its_reason_in_the_row(celery_app, redis_client):
    row = make_task()
    assert pause.pause(celery_app, "job", "3 failed runs in a row", by="worker")
    row.refresh_from_db()  # the entry_paused receiver, in this (Django) process
    assert (row.enabled, row.paused_by, row.paused_reason) == (
        False, "worker", "3 failed runs in a row",
    )  # fmt: skip
    assert row.paused_at is not None


def test_a_sync_brings_a_pause_after_failures_to_the_row(celery_app, redis_client):
    row = make_task()
    receivers, entry_paused.receivers = entry_paused.receivers, []  # a worker without Django
    try:
        assert pause.pause(celery_app, "job", "3 failed runs in a row", by="worker")
    finally:
        entry_paused.receivers = receivers
    written = stored_pause(redis_client)
    bridge.sync_tasks([PeriodicTask.objects.get(pk=row.pk)])
    row.refresh_from_db()
    assert (row.enabled, row.paused_by, row.paused_reason) == (
        False, "worker", "3 failed runs in a row",
    )  # fmt: skip
    assert row.paused_at.isoformat() == written["at"]
    assert stored_pause(redis_client) == written  # the same pause, written back as it was


def test_a_row_disabled_before_rows_kept_pauses_gets_its_entrys(celery_app, redis_client):
    row = make_task()
    PeriodicTask.objects.filter(pk=row.pk).update(enabled=False)
    paused = {
        "reason": "3 failed runs in a row",
        "at": "2026-01-15T11:00:00+00:00",
        "by": "worker",
    }
    redis_client.hset("redbeat:job", "paused", json.dumps(paused))
    bridge.sync_tasks([PeriodicTask.objects.get(pk=row.pk)])
    row.refresh_from_db()
    assert (row.paused_by, row.paused_reason) == ("worker", "3 failed runs in a row")
    assert stored_pause(redis_client) == paused


def test_the_list_shows_an_entrys_pause_the_row_does_not_know_yet(admin_client, redis_client):
    make_task()
    paused = {
        "reason": "3 failed runs in a row",
        "at": "2026-01-15T11:00:00+00:00",
        "by": "worker",
    }
    redis_client.hset("redbeat:job", "paused", json.dumps(paused))  # a worker without Django
    html = admin_client.get(LIST_URL).content.decode()
    cell = html.split('class="field-status"', 1)[1].split("</td>", 1)[0]
    assert "icon-no.svg" in cell and "3 failed runs in a row" in cell
    assert 'title="Paused by worker at 2026-01-15 11:00:00 UTC"' in cell
