"""``redbeat_import`` puts the run policies of an entry's options into their fields."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from django_redbeat.beat.run_policy import POLICY_FIELD
from django_redbeat.importing import importer
from django_redbeat.importing.rows import EntryError
from django_redbeat.models import PeriodicTask
from django_redbeat.schedules import rrule

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

UTC = timezone.utc
START = datetime(2026, 1, 1, 8, tzinfo=UTC)
POLICIES = {
    "catch_up": "all", "catch_up_window": 120, "catch_up_limit": 3, "overlap": "skip",
    "overlap_timeout": 600, "jitter": 5, "start_time": START.isoformat(),
    "end_time": "2026-12-31T00:00:00+00:00", "max_runs": 10, "pause_after_failures": 3,
}  # fmt: skip
SCHEDULE = {
    "guarded": {"task": "tests.add", "schedule": 60, "options": {"queue": "q", **POLICIES}},
    "plain": {"task": "tests.add", "schedule": 60},
}


def run(schedule=None) -> str:
    out = StringIO()
    with override_settings(CELERY_BEAT_SCHEDULE=SCHEDULE if schedule is None else schedule):
        call_command("redbeat_import", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_policies_go_to_their_fields_not_extra_options(redis_client):
    run()
    row = PeriodicTask.objects.get(name="guarded")
    assert (row.overlap, row.overlap_timeout, row.jitter, row.max_runs) == ("skip", 600, 5, 10)
    assert (row.start_time, row.end_time.year, row.pause_after_failures) == (START, 2026, 3)
    assert row.extra_options == {}
    definition = json.loads(redis_client.hget("redbeat:guarded", "definition"))
    assert definition["options"] == {"queue": "q"}
    assert json.loads(redis_client.hget("redbeat:guarded", POLICY_FIELD)) == POLICIES
    assert not redis_client.hexists("redbeat:plain", POLICY_FIELD)


def test_running_it_again_changes_nothing():
    run()
    changed = dict(PeriodicTask.objects.values_list("name", "date_changed"))
    assert "Imported 2 entries: 2 unchanged" in run()
    assert dict(PeriodicTask.objects.values_list("name", "date_changed")) == changed


def test_a_changed_policy_updates_the_row(redis_client):
    run()
    changed = {**SCHEDULE["guarded"], "options": {**POLICIES, "max_runs": 20}}
    run({**SCHEDULE, "guarded": changed})
    assert PeriodicTask.objects.get(name="guarded").max_runs == 20
    assert json.loads(redis_client.hget("redbeat:guarded", POLICY_FIELD))["max_runs"] == 20


def test_a_row_edited_in_its_policy_since_is_kept():
    run()
    PeriodicTask.objects.filter(name="plain").update(jitter=9.0)
    assert "edited since its import" in run()


def test_a_bad_policy_names_its_option():
    spec = {"task": "tests.add", "schedule": 60, "options": {"max_runs": 0}}
    with pytest.raises(EntryError, match="option max_runs: must be a whole number"):
        importer.build("bad", spec)


def test_an_rrule_takes_its_start_as_dtstart_only():
    spec = {
        "task": "tests.add", "schedule": rrule("DAILY", dtstart=START),
        "options": {"start_time": START.isoformat()},
    }  # fmt: skip
    with pytest.raises(EntryError, match="option start_time: an rrule starts at its dtstart"):
        importer.build("rule", spec)
