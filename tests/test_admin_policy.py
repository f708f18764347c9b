"""Run policies in the admin: each field saved reaches the entry's policy in Redis."""

from __future__ import annotations

import json

import pytest

from django_redbeat.beat import run_policy
from django_redbeat.beat.run_policy import POLICY_FIELD
from django_redbeat.models import PeriodicTask
from tests.django_fixtures import make_task, stored
from tests.test_admin import ADD_URL, change_url, form_data, messages_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]


def stored_policy(redis_client, name: str = "job") -> dict | None:
    value = redis_client.hget("redbeat:" + name, POLICY_FIELD)
    return None if value is None else json.loads(value)


@pytest.mark.parametrize(
    ("fields", "policy"),
    [
        ({"catch_up": "all"}, {"catch_up": "all"}),
        ({"catch_up": "none"}, {"catch_up": "none"}),
        ({"catch_up_window": "300"}, {"catch_up_window": 300}),
        ({"catch_up_limit": "3"}, {"catch_up_limit": 3}),
        ({"overlap": "skip"}, {"overlap": "skip"}),
        ({"overlap": "buffer_one"}, {"overlap": "buffer_one"}),
        ({"overlap_timeout": "90"}, {"overlap_timeout": 90}),
        ({"jitter": "7.5"}, {"jitter": 7.5}),
        ({"start_time_0": "2026-02-01", "start_time_1": "09:00:00"},
         {"start_time": "2026-02-01T09:00:00+00:00"}),
        ({"end_time_0": "2026-03-01", "end_time_1": "18:30:00"},
         {"end_time": "2026-03-01T18:30:00+00:00"}),
        ({"max_runs": "12"}, {"max_runs": 12}),
        ({"pause_after_failures": "3"}, {"pause_after_failures": 3}),
    ],
)  # fmt: skip
def test_each_policy_field_reaches_the_entrys_policy(admin_client, celery_app, redis_client,
                                                     fields, policy):  # fmt: skip
    response = admin_client.post(ADD_URL, form_data(**fields), follow=True)
    assert "was added successfully" in messages_of(response)[0]
    assert stored_policy(redis_client) == policy
    assert stored(celery_app).policy.to_json() == policy


def test_the_defaults_write_no_policy_field(admin_client, redis_client):
    admin_client.post(ADD_URL, form_data(), follow=True)
    # the hash as before the policies had fields: no policy, no pause
    assert set(redis_client.hkeys("redbeat:job")) == {
        "definition", "meta", "managed_by", "managed_version",
    }  # fmt: skip


def test_a_policy_set_back_to_the_default_is_removed(admin_client, redis_client):
    row = make_task(max_runs=3)
    assert stored_policy(redis_client) == {"max_runs": 3}
    admin_client.post(change_url(row), form_data(), follow=True)
    assert PeriodicTask.objects.get(pk=row.pk).max_runs is None
    assert not redis_client.hexists("redbeat:job", POLICY_FIELD)


def test_an_rrules_start_time_stays_its_dtstart(admin_client, celery_app, redis_client):
    data = form_data(kind="rrule", rrule="FREQ=DAILY", every="", period="",
                     start_time_0="2026-01-01", start_time_1="00:00:00")  # fmt: skip
    admin_client.post(ADD_URL, data, follow=True)
    assert not redis_client.hexists("redbeat:job", POLICY_FIELD)
    assert stored(celery_app).schedule.dtstart.isoformat() == "2026-01-01T00:00:00+00:00"


def test_a_bad_value_is_shown_on_its_field_and_nothing_is_saved(admin_client, redis_client):
    response = admin_client.post(ADD_URL, form_data(max_runs="0"))
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["max_runs"]
    assert "Invalid run policy: must be a whole number of at least 1" in errors["max_runs"][0]
    assert not PeriodicTask.objects.exists()
    assert redis_client.keys("*") == []


def test_the_change_form_has_a_run_policy_fieldset(admin_client):
    row = make_task()
    page = admin_client.get(change_url(row)).content.decode()
    # the admin's fieldsets, each up to the next (a split date and time field is a fieldset of
    # its own inside one, from Django 5)
    [fieldset] = [part for part in page.split('<fieldset class="module') if "Run policy" in part]
    for name in run_policy.NAMES:
        assert f'name="{name}' in fieldset
