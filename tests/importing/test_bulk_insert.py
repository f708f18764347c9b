"""bulk_insert.insert_tasks: many new rows in one prepared INSERT, written as bulk_create() writes
them, each given its pk, and in Redis once the transaction commits."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.db import connection, transaction

from django_redbeat.importing import bulk_insert
from django_redbeat.models import PeriodicTask
from tests.django_fixtures import make_task, stored

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

UTC = timezone.utc


def new_tasks(prefix: str) -> list[PeriodicTask]:
    """Rows with every sort of value a column holds: defaults, JSON empty or not, times,
    numbers, booleans, blanks."""
    return [
        PeriodicTask(
            name=f"{prefix}-interval", task="tests.add", kind="interval", every=5,
            period="minutes", args=[1, "x"], kwargs={"a": {"b": [1.5, None]}},
        ),
        PeriodicTask(
            name=f"{prefix}-crontab", task="tests.add", kind="crontab", minute="0", hour="3",
            timezone="Europe/Paris", headers={"h": 1}, priority=7, queue="q", enabled=False,
        ),
        PeriodicTask(
            name=f"{prefix}-rrule", task="tests.other", kind="rrule", rrule="FREQ=DAILY",
            start_time=datetime(2026, 1, 1, 9, 0, tzinfo=UTC), one_off=True,
            expires=datetime(2026, 6, 1, 8, 30, 15, 250, tzinfo=UTC),
            extra_options={"countdown": 5},
        ),
        PeriodicTask(
            name=f"{prefix}-solar", task="tests.add", kind="solar", solar_event="sunrise",
            latitude=48.85, longitude=-2, expire_seconds=60, description="mine",
        ),
        PeriodicTask(
            name=f"{prefix}-oneoff", task="tests.add", kind="oneoff", one_off=True,
            run_at=datetime(2026, 6, 1, 8, 0, tzinfo=UTC), source="settings",
            source_digest="ab" * 32,
        ),
    ]  # fmt: skip


def columns(prefix: str) -> dict[str, tuple]:
    """Each row's columns as the database holds them (pk and date_changed aside), by name
    without the prefix."""
    names = [field.column for field in bulk_insert.FIELDS if field.name != "date_changed"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(names)} FROM django_redbeat_periodictask WHERE name LIKE %s",
            [prefix + "-%"],
        )
        rows = cursor.fetchall()
    name = names.index("name")
    return {row[name].removeprefix(prefix): row[:name] + row[name + 1 :] for row in rows}


def test_the_rows_are_written_as_bulk_create_writes_them():
    PeriodicTask.objects.bulk_create(new_tasks("bulk"))
    bulk_insert.insert_tasks(new_tasks("one"))
    assert columns("one") == columns("bulk")
    assert len(columns("one")) == 5


def test_each_row_gets_its_pk_and_one_moment_of_change():
    make_task(name="before")
    make_task(name="deleted").delete()  # a pk never given again: the new ones come after it
    tasks = new_tasks("new")
    started = datetime.now(UTC)
    bulk_insert.insert_tasks(tasks)
    in_db = {row.name: row for row in PeriodicTask.objects.filter(name__startswith="new-")}
    assert {task.name: task.pk for task in tasks} == {name: row.pk for name, row in in_db.items()}
    assert {task.date_changed for task in tasks} == {row.date_changed for row in in_db.values()}
    assert tasks[0].date_changed >= started
    tasks[0].description = "saved again"
    tasks[0].save()  # an UPDATE of its row, not a second INSERT
    assert PeriodicTask.objects.get(pk=tasks[0].pk).description == "saved again"
    assert PeriodicTask.objects.count() == 6


@pytest.mark.parametrize(
    "values",
    [
        [1, 1.0, True, "1", 1],  # equal (and hashing alike) in Python, not in JSON
        [[], {}, [0], {"a": 1}, {}],
    ],
)
def test_a_json_value_keeps_its_type(values):
    tasks = [
        PeriodicTask(name=f"job-{index}", task="tests.add", kind="interval", every=1,
                     period="hours", extra_options=value)
        for index, value in enumerate(values)
    ]  # fmt: skip
    bulk_insert.insert_tasks(tasks)
    read = PeriodicTask.objects.order_by("pk").values_list("extra_options", flat=True)
    assert [(type(value), value) for value in read] == [(type(value), value) for value in values]


def test_the_rows_reach_redis_when_the_transaction_commits(celery_app, redis_client):
    with transaction.atomic():
        bulk_insert.insert_tasks(new_tasks("new"))
        assert redis_client.exists("redbeat:new-interval") == 0
    assert stored(celery_app, "new-interval").kwargs == {"a": {"b": [1.5, None]}}
    assert not stored(celery_app, "new-crontab").enabled
    assert redis_client.zcard("redbeat::schedule") == 5


def test_a_rolled_back_insert_leaves_no_row_and_no_entry(redis_client):
    with pytest.raises(RuntimeError), transaction.atomic():
        bulk_insert.insert_tasks(new_tasks("new"))
        raise RuntimeError("rolled back")
    assert not PeriodicTask.objects.exists()
    assert redis_client.keys("redbeat:*") == []


def test_other_databases_get_bulk_create(monkeypatch, celery_app):
    monkeypatch.setattr(bulk_insert, "ONE_INSERT_VENDORS", frozenset())
    tasks = new_tasks("new")
    bulk_insert.insert_tasks(tasks)
    assert all(task.pk == PeriodicTask.objects.get(name=task.name).pk for task in tasks)
    assert stored(celery_app, "new-rrule").task == "tests.other"


def test_no_rows_is_nothing_to_do(redis_client):
    bulk_insert.insert_tasks([])
    assert not PeriodicTask.objects.exists()
    assert redis_client.keys("redbeat:*") == []
