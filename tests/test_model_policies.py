"""The run policy fields of PeriodicTask: one per RunPolicy name, at the policy's defaults, and
the RunPolicy their row's entry gets."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.core.exceptions import ValidationError

from django_redbeat import admin, models
from django_redbeat.beat import run_policy
from django_redbeat.beat.run_policy import DEFAULT, RunPolicy
from django_redbeat.models import PeriodicTask

UTC = timezone.utc
START = datetime(2026, 1, 1, 8, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)


def task(**fields) -> PeriodicTask:
    values = {"name": "job", "task": "tests.add", "kind": "interval", "every": 5,
              "period": "minutes"}  # fmt: skip
    return PeriodicTask(**{**values, **fields})


@pytest.mark.parametrize("name", run_policy.NAMES)
def test_every_run_policy_name_has_a_model_field_at_its_default_and_in_the_admin(name):
    """A RunPolicy name without a field of its own could only be set as JSON: add the field
    (models.py, a migration), give it the policy's default, and put it in the admin's
    "Run policy" fieldset (admin.RUN_POLICY_FIELDS)."""
    field = PeriodicTask._meta.get_field(name)
    assert field.get_default() == getattr(DEFAULT, name)
    assert name in models.POLICY_FIELDS
    shown = [
        f
        for line in admin.RUN_POLICY_FIELDS
        for f in (line if isinstance(line, tuple) else (line,))
    ]
    assert name in shown


def test_a_row_at_the_defaults_has_the_default_policy():
    assert task().run_policy is DEFAULT
    assert task(kind="rrule", rrule="FREQ=DAILY", start_time=START).run_policy is DEFAULT


def test_each_field_sets_its_policy():
    row = task(
        overlap="buffer_one", overlap_timeout=60.0, jitter=2.5, start_time=START, end_time=END,
        max_runs=3, pause_after_failures=2,
    )  # fmt: skip
    assert row.run_policy == RunPolicy(
        overlap="buffer_one", overlap_timeout=60, jitter=2.5, start_time=START, end_time=END,
        max_runs=3, pause_after_failures=2,
    )  # fmt: skip
    # whole seconds are written as a beat_schedule option writes them: 60, not 60.0
    assert row.run_policy.to_json()["overlap_timeout"] == 60
    assert isinstance(row.run_policy.to_json()["overlap_timeout"], int)


def test_an_rrules_start_time_is_its_dtstart_not_a_policy():
    row = task(kind="rrule", rrule="FREQ=DAILY", start_time=START, end_time=END)
    assert row.run_policy == RunPolicy(end_time=END)
    assert row.schedule.dtstart == START


def test_a_policy_left_in_extra_options_by_an_older_row_still_counts():
    row = task(extra_options={"overlap": "skip", "countdown": 5}, jitter=3.0)
    assert row.run_policy == RunPolicy(overlap="skip", jitter=3)


def test_extra_options_may_not_name_a_policy():
    row = task(extra_options={"max_runs": 3})
    with pytest.raises(ValidationError) as caught:
        row.full_clean(validate_unique=False)
    assert "max_runs" in caught.value.message_dict["extra_options"][0]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"overlap_timeout": 0.0}, "overlap_timeout"),
        ({"jitter": -1.0}, "jitter"),
        ({"max_runs": 0}, "max_runs"),
        ({"pause_after_failures": 0}, "pause_after_failures"),
        ({"start_time": END, "end_time": START}, "end_time"),
    ],
)
def test_a_bad_policy_value_is_an_error_of_its_field(fields, field):
    with pytest.raises(ValidationError) as caught:
        task(**fields).full_clean(validate_unique=False)
    assert list(caught.value.message_dict) == [field]
    assert caught.value.message_dict[field][0].startswith("Invalid run policy: must be")
