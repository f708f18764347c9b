"""The import checks and digests each shape of entry once: what differs from entry to entry
(name, arguments) is still checked for every entry, and the digests are those of digest()."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from celery.schedules import solar
from django.core.exceptions import ValidationError

from django_redbeat.importing import importer
from django_redbeat.importing.entry_shapes import Shapes, digest
from django_redbeat.models import PeriodicTask
from django_redbeat.schedules import crontab, oneoff, rrule

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

UTC = timezone.utc
PARIS = timezone(timedelta(hours=1))
EVERY_MINUTE = {"task": "tests.add", "schedule": 60, "options": {"queue": "q"}}


def plan_of(schedule: dict) -> importer.Plan:
    return importer.make_plan(schedule)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"args": [object()]}, "args: Value must be valid JSON."),
        ({"args": "not a list"}, "args: Positional arguments must be a JSON list"),
        ({"kwargs": {"x": object()}}, "kwargs: Value must be valid JSON."),
        ({"kwargs": [1]}, "kwargs: Keyword arguments must be a JSON object"),
    ],
)
def test_an_entry_of_a_checked_shape_still_has_its_arguments_checked(bad, error):
    schedule = {
        "good-1": {**EVERY_MINUTE, "args": [1]},
        "bad": {**EVERY_MINUTE, **bad},
        "good-2": {**EVERY_MINUTE, "args": [2]},
    }
    plan = plan_of(schedule)
    assert [task.name for task in plan.create] == ["good-1", "good-2"]
    assert list(plan.errors) == ["bad"]
    assert error in plan.errors["bad"]


def test_an_entry_of_a_checked_shape_still_has_its_name_checked():
    plan = plan_of({"good": EVERY_MINUTE, ":reserved": EVERY_MINUTE, "x" * 201: EVERY_MINUTE})
    assert [task.name for task in plan.create] == ["good"]
    assert plan.errors[":reserved"].startswith("name: Entry name ':reserved' starts with ':'")
    assert "name: Ensure this value has at most 200 characters" in plan.errors["x" * 201]


def test_equal_values_of_other_types_are_other_shapes():
    # 1, 1.0 and True are equal, but a priority of 1.5 or True is not checked as 1 is
    schedule = {
        "int": {**EVERY_MINUTE, "options": {"priority": 1}},
        "float": {**EVERY_MINUTE, "options": {"priority": 1.5}},
        "bad": {**EVERY_MINUTE, "options": {"priority": 300}},
        "bool": {**EVERY_MINUTE, "options": {"priority": True}},
    }
    plan = plan_of(schedule)
    assert "priority: Ensure this value is less than or equal to 255" in plan.errors["bad"]
    priorities = {task.name: task.priority for task in plan.create}
    assert priorities == {"int": 1, "float": 1, "bool": 1}
    assert {type(value) for value in priorities.values()} == {int}  # cleaned, each of them


def test_each_shape_is_fully_checked_once(monkeypatch):
    full_cleans = []
    original = PeriodicTask.full_clean

    def counting(task, *args, **kwargs):
        full_cleans.append(task.name)
        return original(task, *args, **kwargs)

    monkeypatch.setattr(PeriodicTask, "full_clean", counting)
    schedule = {f"job-{n}": {**EVERY_MINUTE, "args": [n]} for n in range(5)}
    schedule["hourly"] = {"task": "tests.add", "schedule": 3600}
    schedule["hourly-too"] = {"task": "tests.add", "schedule": timedelta(hours=1)}
    plan = plan_of(schedule)
    assert len(plan.create) == 7
    assert full_cleans == ["job-0", "hourly"]


def test_a_shape_whose_values_cleaning_changes_is_checked_for_every_entry():
    # a priority given as text is cleaned into a number: each entry gets its own
    schedule = {f"job-{n}": {**EVERY_MINUTE, "options": {"priority": "7"}} for n in range(3)}
    plan = plan_of(schedule)
    assert [task.priority for task in plan.create] == [7, 7, 7]


SPECS = {
    "interval": {"task": "tests.add", "schedule": 60, "args": (1, {"b": 1, "a": 2})},
    "kwargs": {"task": "tests.add", "schedule": 60, "kwargs": {"z": [1.5, None], "a": "é"}},
    "crontab": {"task": "tests.add", "schedule": crontab(0, 9, timezone="Europe/Paris")},
    "rrule": {"task": "tests.add", "schedule": rrule("MINUTELY", interval=5)},
    "rrule-at": {
        "task": "tests.add",
        "schedule": rrule("WEEKLY", dtstart=datetime(2026, 1, 1, 9, tzinfo=PARIS)),
    },
    "solar": {"task": "tests.add", "schedule": solar("sunrise", -0.0, 2.35)},
    "solar-zero": {"task": "tests.add", "schedule": solar("sunrise", 0.0, 2.35)},
    "oneoff": {"task": "tests.add", "schedule": oneoff(datetime(2026, 6, 1, 8, tzinfo=UTC))},
    "options": {
        "task": "tests.add",
        "schedule": 60,
        "options": {"headers": {"y": 1, "x": 2}, "countdown": 5, "expires": 30, "queue": "q"},
    },  # fmt: skip
    "expires-at": {
        "task": "tests.add",
        "schedule": 60,
        "options": {"expires": datetime(2026, 3, 1, 12, tzinfo=PARIS)},
    },  # fmt: skip
}


def test_the_digests_of_shaped_entries_are_those_of_digest():
    shapes = Shapes()
    for round_ in range(2):  # the second time, every shape has been checked
        for name, spec in SPECS.items():
            task = importer.build(f"{name}-{round_}", spec, shapes=shapes)
            assert task.source_digest == digest(task), name
    assert len(shapes.checked) == len(SPECS) - 1  # "interval" and "kwargs" share theirs


def test_a_row_that_fails_its_model_checks_fails_them_through_a_checked_shape_too():
    shapes = Shapes()
    importer.build("first", EVERY_MINUTE, shapes=shapes)
    task = importer.build("second", {**EVERY_MINUTE, "args": [1]}, shapes=shapes)
    task.full_clean(validate_unique=False)  # what passed is valid as a whole
    with pytest.raises(importer.EntryError, match="args: Value must be valid JSON"):
        importer.build("third", {**EVERY_MINUTE, "args": [object()]}, shapes=shapes)
    task.args = [object()]
    with pytest.raises(ValidationError):
        task.full_clean(validate_unique=False)
