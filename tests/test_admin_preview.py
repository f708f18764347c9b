"""The form's live preview: the next five runs of the schedule being edited, before it is saved,
or the errors of its fields by name; nothing is written."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from django_redbeat.decoder import dumps
from django_redbeat.models import PeriodicTask
from tests.django_fixtures import make_task
from tests.test_admin import form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

PREVIEW_URL = reverse("admin:django_redbeat_periodictask_preview")
UTC = timezone.utc


def preview(client, **fields) -> dict:
    response = client.post(PREVIEW_URL, form_data(**fields))
    assert response.status_code == 200
    return response.json()


def test_a_new_crontab_previews_five_runs_in_its_zone(admin_client, redis_client):
    answer = preview(
        admin_client, kind="crontab", minute="0", hour="9", timezone="Asia/Tokyo", every=""
    )
    assert answer["runs"] == [
        "2026-01-16 09:00:00 JST (Fri)", "2026-01-17 09:00:00 JST (Sat)",
        "2026-01-18 09:00:00 JST (Sun)", "2026-01-19 09:00:00 JST (Mon)",
        "2026-01-20 09:00:00 JST (Tue)",
    ]  # fmt: skip
    assert not PeriodicTask.objects.exists()
    assert redis_client.keys("*") == []


def test_an_interval_counts_from_the_saved_tasks_last_run(admin_client, redis_client):
    row = make_task(every=10, period="seconds")
    last_run = datetime(2026, 1, 15, 11, 59, 55, tzinfo=UTC)
    redis_client.hset(
        "redbeat:job", "meta", dumps({"last_run_at": last_run, "total_run_count": 4})
    )
    answer = preview(admin_client, every="10", period="seconds", redbeat_object_id=str(row.pk))
    assert answer["runs"][:2] == ["2026-01-15 12:00:05 UTC (Thu)", "2026-01-15 12:00:15 UTC (Thu)"]
    assert PeriodicTask.objects.get().period == "seconds"


def test_an_invalid_crontab_names_its_field(admin_client):
    answer = preview(admin_client, kind="crontab", minute="61", every="")
    assert list(answer["errors"]) == ["minute"]
    assert "Invalid minute" in answer["errors"]["minute"][0]


def test_errors_of_other_fields_do_not_stop_the_preview(admin_client):
    answer = preview(admin_client, name="", task="", args="[1,", every="2", period="hours")
    assert answer["runs"][0] == "2026-01-15 14:00:00 UTC (Thu)"


def test_a_disabled_task_an_ended_rule_and_a_past_one_off(admin_client):
    assert preview(admin_client, enabled=None)["note"] == "None: the task is disabled."
    ended = preview(
        admin_client, kind="rrule", rrule="FREQ=DAILY;UNTIL=20250101T000000Z", every="",
        start_time_0="2024-12-30", start_time_1="00:00:00",
    )  # fmt: skip
    assert ended == {"runs": [], "note": "None: the schedule has ended."}
    past = {"kind": "oneoff", "run_at_0": "2025-01-01", "run_at_1": "00:00:00", "every": ""}
    assert preview(admin_client, **past)["runs"] == ["2026-01-15 12:00:00 UTC (Thu)"]  # at once


def test_only_staff_who_may_edit_get_a_preview(client):
    assert client.post(PREVIEW_URL, form_data()).status_code == 302  # to the login page
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            codename="view_periodictask", content_type__app_label="django_redbeat"
        )
    )
    client.force_login(user)
    assert client.post(PREVIEW_URL, form_data()).status_code == 403
    assert client.get(PREVIEW_URL).status_code == 405


def test_the_forms_load_the_preview_script(admin_client):
    row = make_task()
    for url in (
        reverse("admin:django_redbeat_periodictask_add"),
        reverse("admin:django_redbeat_periodictask_change", args=[row.pk]),
    ):
        content = admin_client.get(url).content.decode()
        assert "django_redbeat/schedule_preview.js" in content
        assert f'"url": "{PREVIEW_URL}"' in content
    assert f'"object_id": "{row.pk}"' in content


def test_the_runs_keep_within_the_run_policys_bounds(admin_client):
    # the tests' clock is 2026-01-15 12:00 UTC
    answer = preview(
        admin_client, every="1", period="hours", start_time_0="2026-01-15",
        start_time_1="14:30:00", end_time_0="2026-01-15", end_time_1="16:30:00",
    )  # fmt: skip
    assert answer["runs"] == [
        "2026-01-15 14:30:00 UTC (Thu)", "2026-01-15 15:30:00 UTC (Thu)",
        "2026-01-15 16:30:00 UTC (Thu)",
    ]  # fmt: skip
    crontab = preview(
        admin_client, kind="crontab", minute="0", hour="*/6", every="",
        start_time_0="2026-01-16", start_time_1="00:00:00",
    )  # fmt: skip
    assert crontab["runs"][:2] == [
        "2026-01-16 00:00:00 UTC (Fri)",
        "2026-01-16 06:00:00 UTC (Fri)",
    ]


def test_a_bad_policy_stops_the_preview_on_its_field(admin_client):
    answer = preview(admin_client, max_runs="0")
    assert list(answer["errors"]) == ["max_runs"]
    assert "at least 1" in answer["errors"]["max_runs"][0]
