"""The admin as a user drives it in a browser: login, the list, the add form with each schedule
kind and its live preview, an invalid crontab, each action, the status page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from django_redbeat.decoder import dumps
from django_redbeat.models import PeriodicTask
from tests.django_fixtures import make_task, stored

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
expect = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
).expect

UTC = timezone.utc
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)  # the tests' Celery clock
LIST = "/admin/django_redbeat/periodictask/"


def settled_preview(page) -> list[str]:
    """The preview's lines once it shows the answer for the form as it now is (the script marks
    the form; an answer to an earlier state of the form is never taken)."""
    expect(page.locator("#periodictask_form")).to_have_attribute("data-redbeat-preview", "shown")
    return page.locator(".field-upcoming_runs .readonly div").all_inner_texts()


def test_login(page, live_server, django_celery_app, django_user_model):
    django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    page.goto(live_server.url + LIST)
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    expect(page.locator("#content h1")).to_have_text("Select periodic task to change")


def test_the_list_fits_1280_px_with_words_seconds_and_how_far(admin_page, redis_client):
    make_task(name="heartbeat-of-the-billing-service", task="billing.tasks.send_heartbeat_ping",
              every=10, period="seconds")  # fmt: skip
    make_task(name="weekday-report", kind="crontab", minute="0", hour="9",
              day_of_week="mon-fri", timezone="Europe/Paris")  # fmt: skip
    make_task(name="tidy-up", kind="rrule", rrule="FREQ=MINUTELY;INTERVAL=2", start_time=NOW)
    make_task(name="sunrise", kind="solar", solar_event="sunrise", latitude=48.85, longitude=2.35)
    make_task(name="once", kind="oneoff", run_at=NOW + timedelta(days=3))
    meta = dumps({"last_run_at": NOW - timedelta(seconds=12), "total_run_count": 7})
    redis_client.hset("redbeat:heartbeat-of-the-billing-service", "meta", meta)
    redis_client.zadd(
        "redbeat::schedule", {"redbeat:heartbeat-of-the-billing-service": NOW.timestamp() + 4}
    )
    admin_page.goto(admin_page.base + LIST)
    row = admin_page.locator("tr", has_text="heartbeat-of-the-billing-service")
    expect(row.locator("td.field-next_run")).to_have_text("12:00:04 in 4 s")
    expect(row.locator("td.field-last_run")).to_have_text("11:59:48 12 s ago")
    schedule = admin_page.locator("tr", has_text="weekday-report").locator(".redbeat-schedule")
    expect(schedule).to_have_text("At 09:00, Monday through Friday (Europe/Paris)")
    expect(schedule).to_have_attribute("title", re.compile(r"^cron 0 9 \* \* mon-fri"))
    expect(admin_page.locator("tr", has_text="tidy-up")).to_contain_text("Every 2 minutes")
    assert admin_page.evaluate("document.documentElement.scrollWidth") <= 1280
    results = admin_page.locator("#changelist .results")
    overflow = results.evaluate("element => element.scrollWidth - element.clientWidth")
    assert overflow <= 0, f"the list is {overflow} px too wide: it scrolls"
    right = results.bounding_box()["x"] + results.bounding_box()["width"]
    for column in ("next_run", "last_run", "run_count"):  # nothing pushed off the right edge
        box = admin_page.locator(f"th.column-{column}").bounding_box()
        assert box["x"] + box["width"] <= right


def fill_interval(page) -> None:
    page.fill("#id_every", "10")
    page.select_option("#id_period", "seconds")


def fill_crontab(page) -> None:
    page.fill("#id_minute", "30")
    page.fill("#id_hour", "7")
    page.fill("#id_timezone", "Asia/Tokyo")


def fill_rrule(page) -> None:
    page.fill("#id_rrule", "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0;BYSECOND=0")
    # the rule's start: left empty it would be the wall clock's now, not the tests' Celery clock
    page.fill("#id_start_time_0", f"{NOW:%Y-%m-%d}")
    page.fill("#id_start_time_1", f"{NOW:%H:%M:%S}")


def fill_solar(page) -> None:
    page.select_option("#id_solar_event", "sunrise")
    page.fill("#id_latitude", "48.85")
    page.fill("#id_longitude", "2.35")


def fill_oneoff(page) -> None:
    page.fill("#id_run_at_0", "2026-02-01")
    page.fill("#id_run_at_1", "08:00:00")


KINDS = {
    # kind: (fill the fields, the preview's first run, the schedule's type in Redis)
    "interval": (fill_interval, "2026-01-15 12:00:10 UTC (Thu)", "schedule"),
    "crontab": (fill_crontab, "2026-01-16 07:30:00 JST (Fri)", "crontab"),
    "rrule": (fill_rrule, "2026-01-16 09:00:00 UTC (Fri)", "rrule"),
    "solar": (fill_solar, "2026-01-16 07:37:59 UTC (Fri)", "solar"),  # sunrise in Paris
    "oneoff": (fill_oneoff, "2026-02-01 08:00:00 UTC (Sun)", "oneoff"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_add_each_kind_with_its_live_preview(admin_page, celery_app, kind):
    fill, first_run, schedule_type = KINDS[kind]
    admin_page.goto(admin_page.base + LIST + "add/")
    admin_page.fill("#id_name", f"new-{kind}")
    admin_page.fill("#id_task", "tests.add")
    admin_page.select_option("#id_kind", kind)
    expect(admin_page.locator(f"fieldset.redbeat-kind-{kind}").first).to_be_visible()
    fill(admin_page)
    lines = settled_preview(admin_page)  # before any save
    assert lines[0] == first_run
    assert len(lines) == (1 if kind == "oneoff" else 5)
    assert not PeriodicTask.objects.exists()
    admin_page.click("input[name=_save]")
    expect(admin_page.locator("ul.messagelist li.success")).to_contain_text("was added")
    assert type(stored(celery_app, f"new-{kind}").schedule).__name__ == schedule_type


def test_the_task_field_offers_the_registered_tasks_and_takes_any_name(admin_page, celery_app):
    @celery_app.task(name="billing.send_invoice", shared=False)
    def send_invoice() -> None:
        """Registered by the test: the task field offers it."""

    admin_page.goto(admin_page.base + LIST + "add/")
    task = admin_page.locator("#id_task")
    # the browser's own list for the box (the one it filters as the user types)
    offered = task.evaluate("box => box.list && [...box.list.options].map(o => o.value)")
    assert offered == ["billing.send_invoice", "tests.add"]
    expect(task).to_have_attribute("autocomplete", "off")  # the list, not the form history
    admin_page.fill("#id_name", "not-yet")
    task.fill("billing.send_reminder")  # not registered (yet): still accepted
    admin_page.select_option("#id_kind", "interval")
    fill_interval(admin_page)
    admin_page.click("input[name=_save]")
    messages = admin_page.locator("ul.messagelist")
    expect(messages.locator("li.success")).to_contain_text("was added")
    expect(messages).to_contain_text("billing.send_reminder is not registered")
    assert stored(celery_app, "not-yet").task == "billing.send_reminder"


def test_the_preview_follows_edits_on_the_change_form(admin_page):
    row = make_task(every=5, period="minutes")
    admin_page.goto(admin_page.base + LIST + f"{row.pk}/change/")
    assert settled_preview(admin_page)[0] == "2026-01-15 12:05:00 UTC (Thu)"
    admin_page.fill("#id_every", "7")
    assert settled_preview(admin_page)[0] == "2026-01-15 12:07:00 UTC (Thu)"
    admin_page.uncheck("#id_enabled")
    assert settled_preview(admin_page) == []
    expect(admin_page.locator(".field-upcoming_runs .readonly")).to_have_text(
        "None: the task is disabled."
    )
    assert PeriodicTask.objects.get().every == 5  # nothing saved


def test_an_invalid_crontab_is_shown_in_place(admin_page):
    admin_page.goto(admin_page.base + LIST + "add/")
    admin_page.select_option("#id_kind", "crontab")
    admin_page.fill("#id_minute", "61")
    settled_preview(admin_page)
    error = admin_page.locator('.redbeat-live-errors[data-field="minute"]')
    expect(error).to_contain_text("Invalid minute")
    # beside the minute box, inside its field
    assert admin_page.locator(".field-minute .redbeat-live-errors").count() == 1
    expect(admin_page.locator(".field-upcoming_runs .readonly")).to_contain_text("minute: Invalid")
    admin_page.fill("#id_minute", "15")
    assert settled_preview(admin_page)[0] == "2026-01-15 12:15:00 UTC (Thu)"
    expect(error).to_have_count(0)


def run_action(page, action: str, *names: str) -> None:
    page.goto(page.base + LIST)
    for name in names:
        link = page.get_by_role("link", name=name, exact=True)
        page.locator("#result_list tbody tr", has=link).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


ACTIONS = {
    "enable": "1 task enabled.",
    "disable": "1 task disabled.",
    "run_now": "1 task sent.",
    "sync_to_redis": "1 task synced.",
    "reset_run_state": "1 task reset.",
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_action(admin_page, redis_client, broker, action):
    make_task(name="a", enabled=action != "enable")
    make_task(name="b")
    redis_client.hset("redbeat:a", "meta", dumps({"last_run_at": NOW, "total_run_count": 3}))
    run_action(admin_page, action, "a")
    expect(admin_page.locator("ul.messagelist")).to_contain_text(ACTIONS[action])
    score = redis_client.zscore("redbeat::schedule", "redbeat:a")
    effects = {
        "enable": lambda: score > 0,
        "disable": lambda: score == -1,
        "run_now": lambda: len(broker.messages("celery")) == 1,
        "sync_to_redis": lambda: redis_client.exists("redbeat:a") == 1,
        "reset_run_state": lambda: '"total_run_count": 3' not in redis_client.hget(
            "redbeat:a", "meta"
        ),
    }  # fmt: skip
    assert effects[action]()
    assert redis_client.zscore("redbeat::schedule", "redbeat:b") > 0  # the other one untouched


def test_delete_selected(admin_page, redis_client):
    make_task(name="a")
    make_task(name="b")
    run_action(admin_page, "delete_selected", "a")
    admin_page.click("input[type=submit]")  # "Yes, I'm sure"
    expect(admin_page.locator("ul.messagelist")).to_contain_text("Successfully deleted 1")
    assert list(PeriodicTask.objects.values_list("name", flat=True)) == ["b"]
    assert redis_client.exists("redbeat:a") == 0


def test_the_status_page(admin_page, celery_app, redis_client):
    make_task(name="heartbeat", every=10, period="seconds")
    redis_client.zadd("redbeat::schedule", {"redbeat:heartbeat": NOW.timestamp() - 120})
    redis_client.set("redbeat::lock", "beat-host:4242:0123456789ab", px=25_000)
    admin_page.goto(admin_page.base + LIST)
    admin_page.click("text=Schedule status")
    expect(admin_page.locator("#content h1")).to_have_text("Schedule status")
    summary = admin_page.locator("#redbeat-status-summary")
    expect(summary).to_contain_text("held by beat-host (pid 4242), expires in")
    expect(summary).to_contain_text("1 due now, 1 overdue")
    overdue = admin_page.locator("#redbeat-status-next tr.redbeat-overdue")
    expect(overdue).to_contain_text("2 min ago (overdue)")
    overdue.locator("a", has_text="heartbeat").click()
    expect(admin_page.locator("#id_name")).to_have_value("heartbeat")


def test_pause_with_a_reason(admin_page, redis_client):
    make_task(name="a")
    make_task(name="b")
    run_action(admin_page, "pause_with_reason", "a")
    expect(admin_page.locator("#content h1")).to_have_text("Pause with a reason")
    admin_page.fill("textarea[name=reason]", "The billing API is down")
    admin_page.click("input[type=submit][value=Pause]")
    expect(admin_page.locator("ul.messagelist")).to_contain_text("1 task paused.")
    reason = admin_page.locator("tr", has_text="The billing API").locator(".redbeat-pause")
    expect(reason).to_have_text("The billing API is down")
    expect(reason).to_have_attribute("title", re.compile(r"^Paused by admin at "))
    assert redis_client.zscore("redbeat::schedule", "redbeat:a") == -1
    assert admin_page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_the_reason_is_asked_for_while_the_task_is_disabled(admin_page):
    row = make_task()
    admin_page.goto(admin_page.base + LIST + f"{row.pk}/change/")
    reason = admin_page.locator("#id_paused_reason")
    expect(reason).to_be_hidden()
    admin_page.uncheck("#id_enabled")
    expect(reason).to_be_visible()
    reason.fill("until Monday")
    admin_page.click("input[name=_save]")
    expect(admin_page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    row.refresh_from_db()
    assert (row.enabled, row.paused_by, row.paused_reason) == (False, "admin", "until Monday")
