"""The admin through Django's test client: every flow checked against what Redis holds."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from io import StringIO

import pytest
import redis
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.urls import reverse
from kombu import Exchange, Queue

from django_redbeat.decoder import dumps
from django_redbeat.models import PeriodicTask
from tests.django_fixtures import make_task, stored

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

UTC = timezone.utc
SCHEDULE = "redbeat::schedule"
LIST_URL = reverse("admin:django_redbeat_periodictask_changelist")
ADD_URL = reverse("admin:django_redbeat_periodictask_add")


def change_url(row: PeriodicTask) -> str:
    return reverse("admin:django_redbeat_periodictask_change", args=[row.pk])


def form_data(**fields) -> dict[str, str]:
    """A complete add/change form: an interval task unless fields say otherwise."""
    data = {
        "name": "job", "task": "tests.add", "enabled": "on", "description": "",
        "kind": "interval", "every": "5", "period": "minutes",
        "minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*",
        "timezone": "", "rrule": "", "solar_event": "", "latitude": "", "longitude": "",
        "run_at_0": "", "run_at_1": "", "args": "[]", "kwargs": "{}", "queue": "",
        "exchange": "", "routing_key": "", "priority": "", "headers": "{}",
        "expires_0": "", "expires_1": "", "expire_seconds": "",
        "start_time_0": "", "start_time_1": "", "end_time_0": "", "end_time_1": "",
        "catch_up": "latest", "catch_up_window": "", "catch_up_limit": "10",
        "overlap": "allow", "overlap_timeout": "3600", "jitter": "0", "max_runs": "",
        "pause_after_failures": "",
    }  # fmt: skip
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def run_action(client, action: str, *rows: PeriodicTask):
    data = {"action": action, "_selected_action": [row.pk for row in rows]}
    return client.post(LIST_URL, data, follow=True)


# ---- add, edit, rename, disable, delete -------------------------------------------------------


def test_add_writes_the_entry(admin_client, celery_app, redis_client):
    response = admin_client.post(
        ADD_URL, form_data(args="[1, 2]", queue="fast", priority="3"), follow=True
    )
    assert response.status_code == 200
    assert "was added successfully" in messages_of(response)[0]
    entry = stored(celery_app)
    assert (entry.task, entry.args, entry.options) == (
        "tests.add",
        [1, 2],
        {"queue": "fast", "priority": 3},
    )
    assert redis_client.zscore(SCHEDULE, "redbeat:job") > 0


def test_add_a_crontab_in_its_own_zone(admin_client, celery_app):
    data = form_data(kind="crontab", minute="30", hour="7", timezone="Asia/Tokyo", every="")
    admin_client.post(ADD_URL, data)
    schedule = stored(celery_app).schedule
    assert (schedule._orig_minute, schedule._orig_hour, schedule.timezone) == (
        "30",
        "7",
        "Asia/Tokyo",
    )


def test_add_an_rrule_and_a_one_off(admin_client, celery_app):
    admin_client.post(ADD_URL, form_data(
        name="weekly", kind="rrule", rrule="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
        timezone="Europe/Paris", start_time_0="2026-01-01", start_time_1="00:00:00", every="",
    ))  # fmt: skip
    admin_client.post(ADD_URL, form_data(
        name="once", kind="oneoff", run_at_0="2026-02-01", run_at_1="08:00:00", every="",
    ))  # fmt: skip
    assert stored(celery_app, "weekly").schedule.timezone == "Europe/Paris"
    assert stored(celery_app, "once").schedule.run_at == datetime(2026, 2, 1, 8, tzinfo=UTC)


def test_edit_keeps_the_run_state(admin_client, celery_app, redis_client):
    row = make_task()
    last_run = datetime(2026, 1, 15, 11, 50, tzinfo=UTC)
    redis_client.hset(
        "redbeat:job", "meta", dumps({"last_run_at": last_run, "total_run_count": 9})
    )
    admin_client.post(change_url(row), form_data(every="20"))
    entry = stored(celery_app)
    assert entry.schedule.run_every.total_seconds() == 20 * 60
    assert (entry.last_run_at, entry.total_run_count) == (last_run, 9)


def test_edit_with_reset_forgets_the_run_state(admin_client, celery_app, redis_client, clock):
    row = make_task()
    redis_client.hset("redbeat:job", "meta", dumps({"last_run_at": clock(), "total_run_count": 9}))
    admin_client.post(change_url(row), form_data(every="20", reset_run_state="on"))
    assert stored(celery_app).total_run_count == 0


def test_rename_removes_the_old_entry(admin_client, celery_app, redis_client):
    row = make_task(name="before")
    admin_client.post(change_url(row), form_data(name="after"))
    assert redis_client.exists("redbeat:before") == 0
    assert stored(celery_app, "after").task == "tests.add"


def test_disable_and_enable_in_the_form(admin_client, redis_client):
    row = make_task()
    admin_client.post(change_url(row), form_data(enabled=None))
    assert redis_client.zscore(SCHEDULE, "redbeat:job") == -1
    admin_client.post(change_url(row), form_data())
    assert redis_client.zscore(SCHEDULE, "redbeat:job") > 0


def test_delete_removes_the_entry(admin_client, redis_client):
    row = make_task()
    url = reverse("admin:django_redbeat_periodictask_delete", args=[row.pk])
    admin_client.post(url, {"post": "yes"})
    assert not PeriodicTask.objects.exists()
    assert redis_client.keys("*") == []


# ---- invalid input ------------------------------------------------------------------------------

SOLAR = {"kind": "solar", "solar_event": "sunrise", "latitude": "0", "longitude": "0"}
EXPIRES_AT = {"expires_0": "2026-01-01", "expires_1": "00:00"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": ":lock"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"task": "t" * 201}, "task"),
        ({"queue": "q" * 201}, "queue"),
        ({"task": ""}, "task"),
        ({"args": "[1,"}, "args"),
        ({"args": '{"a": 1}'}, "args"),
        ({"kwargs": "[1]"}, "kwargs"),
        ({"headers": "nope"}, "headers"),
        ({"priority": "300"}, "priority"),
        ({"priority": "-1"}, "priority"),
        ({"expire_seconds": "-5"}, "expire_seconds"),
        ({**EXPIRES_AT, "expire_seconds": "5"}, "expire_seconds"),
        ({"kind": "weekly"}, "kind"),
        ({"every": "0"}, "every"),
        ({"every": "x"}, "every"),
        ({"period": "fortnights"}, "period"),
        ({"kind": "crontab", "minute": "60"}, "minute"),
        ({"kind": "crontab", "hour": "24"}, "hour"),
        ({"kind": "crontab", "day_of_week": "8"}, "day_of_week"),
        ({"kind": "crontab", "day_of_month": "32"}, "day_of_month"),
        ({"kind": "crontab", "month_of_year": "0"}, "month_of_year"),
        ({"kind": "crontab", "timezone": "Europe/Atlantis"}, "timezone"),
        ({"kind": "rrule", "rrule": "BYDAY=MO"}, "rrule"),
        ({"kind": "rrule", "rrule": "FREQ=DAILY;BYMINUTE=70"}, "rrule"),
        ({**SOLAR, "latitude": "100"}, "latitude"),
        ({**SOLAR, "longitude": "200"}, "longitude"),
        ({**SOLAR, "solar_event": "moonrise"}, "solar_event"),
        ({"kind": "oneoff"}, "run_at"),
        ({"kind": "oneoff", "run_at_0": "2026-13-01", "run_at_1": "00:00"}, "run_at"),
        ({"one_off": "on"}, "one_off"),
        ({"catch_up": "sometimes"}, "catch_up"),
        ({"catch_up_window": "0.5"}, "catch_up_window"),
        ({"catch_up_limit": "0"}, "catch_up_limit"),
        ({"overlap": "sometimes"}, "overlap"),
        ({"overlap_timeout": "0"}, "overlap_timeout"),
        ({"jitter": "-1"}, "jitter"),
        ({"max_runs": "0"}, "max_runs"),
        ({"pause_after_failures": "0"}, "pause_after_failures"),
        ({"start_time_0": "2026-02-01", "start_time_1": "00:00",
          "end_time_0": "2026-01-01", "end_time_1": "00:00"}, "end_time"),
        ({"extra_options": '{"jitter": 5}'}, "extra_options"),
    ],
)  # fmt: skip
def test_invalid_input_is_refused_and_nothing_is_written(
    admin_client, redis_client, fields, field
):
    response = admin_client.post(ADD_URL, form_data(**fields))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not PeriodicTask.objects.exists()
    assert redis_client.keys("*") == []


def test_a_name_used_by_a_static_entry_is_refused(admin_client, celery_app, redis_client):
    redis_client.sadd("redbeat::statics", "job")
    response = admin_client.post(ADD_URL, form_data())
    assert "name" in response.context["adminform"].form.errors


def test_unregistered_task_is_saved_with_a_warning(admin_client, celery_app):
    response = admin_client.post(ADD_URL, form_data(task="not.registered"), follow=True)
    assert any("not registered" in message for message in messages_of(response))
    assert stored(celery_app).task == "not.registered"


def test_the_form_shows_the_fields_of_the_selected_kind(admin_client):
    content = admin_client.get(ADD_URL).content.decode()
    assert "django_redbeat/schedule_kind.js" in content
    assert "redbeat-kind-crontab redbeat-kind-rrule" in content  # the time zone serves both
    assert content.count("redbeat-kind-") == 7


def test_the_form_offers_the_registered_tasks(admin_client, celery_app):
    @celery_app.task(name="billing.send_invoice", shared=False)
    def send_invoice() -> None:
        """Registered by the test: the form lists it."""

    content = admin_client.get(ADD_URL).content.decode()
    assert 'list="redbeat-task-names"' in content
    options = re.findall(
        r'<option value="([^"]*)">',
        content.split('<datalist id="redbeat-task-names">')[1].split("</datalist>")[0],
    )
    assert options == ["billing.send_invoice", "tests.add"]  # sorted, without Celery's own
    assert "celery.backend_cleanup" in celery_app.tasks


def test_the_change_form_previews_five_runs_in_the_task_zone(admin_client):
    row = make_task(kind="crontab", minute="0", hour="9", timezone="Asia/Tokyo", every=None)
    content = admin_client.get(change_url(row)).content.decode()
    assert "2026-01-16 09:00:00 JST (Fri)" in content
    assert "2026-01-20 09:00:00 JST (Tue)" in content
    assert "2026-01-21 09:00:00" not in content


# ---- the list ---------------------------------------------------------------------------------


def test_list_reads_the_run_state_and_last_outcomes_of_the_page_in_two_round_trips(
    admin_client, counting_redis, redis_client
):
    for index in range(30):
        make_task(name=f"job-{index:02}")
    last_run = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
    redis_client.hset(
        "redbeat:job-00", "meta", dumps({"last_run_at": last_run, "total_run_count": 42})
    )
    redis_client.lpush("redbeat::history:job-00", json.dumps({"outcome": "failed"}))
    counting_redis.round_trips = 0
    response = admin_client.get(LIST_URL)
    assert counting_redis.round_trips == 2  # the run states, then the newest history records
    row = response.context["cl"].result_list[0]
    assert row.run_state.total_run_count == 42
    assert row.run_state.last_run_at == last_run
    assert '<td class="field-run_count">42</td>' in response.content.decode()
    assert 'icon-no.svg" alt="failed" title="failed">' in response.content.decode()


def test_a_task_that_never_ran_shows_never(admin_client):
    make_task()
    content = admin_client.get(LIST_URL).content.decode()
    assert '<td class="field-last_run">never</td>' in content
    assert '<td class="field-run_count">0</td>' in content


def test_list_filters_and_search(admin_client):
    make_task(name="a", queue="fast", description="sends the invoices")
    make_task(name="b", task="tests.other", enabled=False)

    def names(query: str) -> list[str]:
        rows = admin_client.get(LIST_URL + query).context["cl"].result_list
        return [row.name for row in rows]

    assert names("?enabled__exact=0") == ["b"]
    assert names("?kind__exact=interval") == ["a", "b"]
    assert names("?task=tests.other") == ["b"]
    assert names("?queue=fast") == ["a"]
    assert names("?q=invoices") == ["a"]


def test_list_shows_a_warning_when_redis_is_down(admin_client, own_redis):
    make_task()
    own_redis.stop()
    response = admin_client.get(LIST_URL)
    assert response.status_code == 200
    assert any("Redis cannot be read" in message for message in messages_of(response))


# ---- actions -----------------------------------------------------------------------------------


def test_enable_and_disable_actions(admin_client, redis_client):
    first, second = make_task(name="a"), make_task(name="b")
    response = run_action(admin_client, "disable", first, second)
    assert "2 tasks disabled." in messages_of(response)
    assert (
        redis_client.zscore(SCHEDULE, "redbeat:a")
        == redis_client.zscore(SCHEDULE, "redbeat:b")
        == -1
    )
    run_action(admin_client, "enable", first)
    assert redis_client.zscore(SCHEDULE, "redbeat:a") > 0
    assert redis_client.zscore(SCHEDULE, "redbeat:b") == -1


def test_run_now_sends_with_all_options(admin_client, celery_app, broker):
    celery_app.conf.task_queues = [Queue("urgent", Exchange("urgent"), routing_key="urgent.now")]
    row = make_task(
        args=[2, 3], kwargs={}, queue="urgent", exchange="urgent", routing_key="urgent.now",
        priority=7, headers={"tenant": "acme"}, expire_seconds=90,
    )  # fmt: skip
    response = run_action(admin_client, "run_now", row)
    assert "1 task sent." in messages_of(response)
    (message,) = broker.messages("urgent")
    headers = message.headers
    assert (headers["task"], json.loads(message.body)[0]) == ("tests.add", [2, 3])
    assert headers["tenant"] == "acme"
    assert headers["expires"] is not None
    assert message.properties["priority"] == 7
    assert message.delivery_info["routing_key"] == "urgent.now"


def test_delete_selected_action_removes_the_entries(admin_client, redis_client):
    first, second = make_task(name="a"), make_task(name="b")
    data = {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"}
    admin_client.post(LIST_URL, data)
    assert not PeriodicTask.objects.exists()
    assert redis_client.keys("*") == []


def test_sync_action_rewrites_drifted_entries(admin_client, celery_app, redis_client):
    row = make_task()
    redis_client.delete("redbeat:job")
    response = run_action(admin_client, "sync_to_redis", row)
    assert "1 task synced." in messages_of(response)
    assert stored(celery_app).task == "tests.add"


def test_reset_action(admin_client, celery_app, redis_client, clock):
    row = make_task()
    redis_client.hset("redbeat:job", "meta", dumps({"last_run_at": clock(), "total_run_count": 5}))
    run_action(admin_client, "reset_run_state", row)
    assert stored(celery_app).total_run_count == 0


# ---- permissions -------------------------------------------------------------------------------


@pytest.fixture
def viewer_client(client):
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            codename="view_periodictask", content_type__app_label="django_redbeat"
        )
    )
    client.force_login(user)
    return client


def test_a_viewer_can_neither_change_nor_run(viewer_client, broker, redis_client):
    row = make_task()
    assert viewer_client.get(LIST_URL).status_code == 200
    assert viewer_client.post(change_url(row), form_data(every="1")).status_code == 403
    run_action(viewer_client, "run_now", row)
    run_action(viewer_client, "disable", row)
    assert broker.messages("celery") == []
    assert PeriodicTask.objects.get().enabled
    assert PeriodicTask.objects.get().every == 5


# ---- Redis down ------------------------------------------------------------------------------


def repair() -> str:
    out = StringIO()
    call_command("redbeat_sync", "--repair", stdout=out)
    return out.getvalue()


def test_redis_down_add_stands_with_a_warning_and_repair_writes_it(
    admin_client, celery_app, own_redis
):
    own_redis.stop()
    response = admin_client.post(ADD_URL, form_data(), follow=True)
    found = messages_of(response)
    assert "was added successfully" in found[0]
    assert any("Redis could not be updated for job" in message for message in found)
    assert PeriodicTask.objects.filter(name="job").exists()
    own_redis.start()
    assert "missing   job" in repair()
    assert stored(celery_app).task == "tests.add"


def test_redis_down_edit_and_delete_are_repaired_later(admin_client, celery_app, own_redis):
    keep, drop = make_task(name="keep"), make_task(name="drop")
    client = redis.Redis.from_url(own_redis.url)
    client.save()  # the restarted server loads this snapshot: Redis comes back stale
    own_redis.stop()
    edit = admin_client.post(change_url(keep), form_data(name="keep", every="20"), follow=True)
    delete_url = reverse("admin:django_redbeat_periodictask_delete", args=[drop.pk])
    delete = admin_client.post(delete_url, {"post": "yes"}, follow=True)
    assert any("Redis could not be updated for keep" in m for m in messages_of(edit))
    assert any("Redis could not be updated for drop" in m for m in messages_of(delete))

    own_redis.start()
    assert stored(celery_app, "keep").schedule.run_every.total_seconds() == 5 * 60
    report = repair()
    assert "differing keep" in report
    assert "orphaned  drop" in report
    assert stored(celery_app, "keep").schedule.run_every.total_seconds() == 20 * 60
    assert client.exists("redbeat:drop") == 0
    client.close()


# ---- run history ------------------------------------------------------------------------------


def test_the_change_page_shows_the_history_and_counters_in_one_round_trip(
    admin_client, counting_redis, redis_client
):
    row = make_task()
    sent = {
        "scheduled_at": 1768478400, "task_id": "t-1", "beat": "host:1", "sent_at": 1768478400.25,
        "lateness": 0.25, "outcome": "failed", "error": "ZeroDivisionError", "runtime": 1.5,
    }  # fmt: skip
    skipped = {"scheduled_at": 1768478460, "outcome": "skipped", "reason": "overlap"}
    redis_client.lpush("redbeat::history:job", json.dumps(sent), json.dumps(skipped))
    redis_client.hset("redbeat:job", mapping={"failed_run_count": 4, "skipped_run_count": 1})
    pause = {"reason": "3 failed runs in a row", "by": "worker", "at": "2026-01-15T12:02:00"}
    redis_client.hset("redbeat:job", "paused", json.dumps(pause))
    counting_redis.round_trips = 0

    content = admin_client.get(change_url(row)).content.decode()

    assert counting_redis.round_trips == 2  # the run state's read, and the history's
    assert "<td>2026-01-15 12:01:00.000</td><td>skipped (overlap)</td>" in content
    assert "<td>failed: ZeroDivisionError</td>" in content
    assert "<td>0.250 s</td><td>1.500 s</td><td>t-1</td><td>host:1</td>" in content
    assert "failed: 4, failed in a row: 0, skipped: 1, missed: 0" in content
    assert "Paused by worker at 2026-01-15T12:02:00: 3 failed runs in a row" in content
