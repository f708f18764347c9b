"""RunPolicy: defaults, validation naming the field, and the hash field's JSON."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from django_redbeat.beat.run_policy import DEFAULT, NAMES, PolicyError, RunPolicy

START = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)


def test_the_default_policy_is_today_and_is_not_stored():
    assert RunPolicy().is_default
    assert RunPolicy().to_json() == {}
    assert RunPolicy().encode() is None
    assert RunPolicy.decode(None) is DEFAULT
    assert RunPolicy.decode("") is DEFAULT


def test_only_the_fields_that_differ_are_written():
    policy = RunPolicy(overlap="skip", jitter=5, start_time=START)
    assert not policy.is_default
    assert policy.to_json() == {"overlap": "skip", "jitter": 5, "start_time": START.isoformat()}
    assert policy.encode() == (
        '{"jitter":5,"overlap":"skip","start_time":"2026-01-01T08:00:00+00:00"}'
    )


def test_every_field_round_trips():
    policy = RunPolicy(
        catch_up="all", catch_up_window=600, catch_up_limit=3,
        overlap="buffer_one", overlap_timeout=60, jitter=2.5, start_time=START,
        end_time=START + timedelta(days=1), max_runs=4, pause_after_failures=2,
    )  # fmt: skip
    assert set(policy.to_json()) == set(NAMES)
    assert RunPolicy.decode(policy.encode()) == policy
    assert RunPolicy.from_json(policy.to_json()) == policy


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"overlap": "queue"}, "overlap"),
        ({"overlap_timeout": 0}, "overlap_timeout"),
        ({"overlap_timeout": "1h"}, "overlap_timeout"),
        ({"overlap_timeout": -1}, "overlap_timeout"),
        ({"jitter": -1}, "jitter"),
        ({"jitter": True}, "jitter"),
        ({"max_runs": 0}, "max_runs"),
        ({"catch_up": "every"}, "catch_up"),
        ({"catch_up_window": 0.5}, "catch_up_window"),
        ({"catch_up_window": "1h"}, "catch_up_window"),
        ({"catch_up_limit": 0}, "catch_up_limit"),
        ({"max_runs": 1.5}, "max_runs"),
        ({"pause_after_failures": 0}, "pause_after_failures"),
        ({"start_time": datetime(2026, 1, 1)}, "start_time"),
        ({"end_time": "tomorrow"}, "end_time"),
        ({"start_time": START, "end_time": START}, "end_time"),
        ({"every": 3}, "every"),
    ],
)
def test_a_bad_value_names_its_field(values, field):
    with pytest.raises(PolicyError) as raised:
        RunPolicy.from_json(values)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")


def test_a_stored_policy_that_is_not_an_object_is_refused():
    with pytest.raises(PolicyError, match="policy: "):
        RunPolicy.decode("[1]")
    with pytest.raises(PolicyError, match="policy: is not JSON"):
        RunPolicy.decode("{")


def test_options_give_the_policy_and_keep_the_rest_for_apply_async():
    policy, options = RunPolicy.split_options({"queue": "q", "overlap": "skip", "jitter": 5})
    assert policy == RunPolicy(overlap="skip", jitter=5)
    assert options == {"queue": "q"}
    assert RunPolicy.split_options({"queue": "q"}) == (DEFAULT, {"queue": "q"})
    assert RunPolicy.split_options(None) == (DEFAULT, {})
