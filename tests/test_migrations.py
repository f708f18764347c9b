"""The data migrations: rows as an older version left them, migrated."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

APP = "django_redbeat"


def migrate(to: str):
    executor = MigrationExecutor(connection)
    executor.migrate([(APP, to)])
    executor.loader.build_graph()
    return executor.loader.project_state([(APP, to)]).apps


def test_policies_named_in_extra_options_move_to_their_fields():
    old = migrate("0004_source_django_celery_beat").get_model(APP, "PeriodicTask")
    common = {"task": "t", "kind": "interval", "every": 5, "period": "minutes"}
    old.objects.create(name="admin", **common, extra_options={
        "overlap": "skip", "jitter": 5, "max_runs": 3, "countdown": 2,
        "end_time": "2026-06-01T00:00:00+00:00", "pause_after_failures": "x",
    })  # fmt: skip
    old.objects.create(name="imported", **common, source="settings",
                       extra_options={"overlap": "skip"})  # fmt: skip
    try:
        new = migrate("0005_run_policy_fields").get_model(APP, "PeriodicTask")
        moved = new.objects.get(name="admin")
        assert (moved.overlap, moved.jitter, moved.max_runs) == ("skip", 5, 3)
        assert moved.end_time.isoformat() == "2026-06-01T00:00:00+00:00"
        # what cannot move stays, and still counts (model_policies.run_policy)
        assert moved.extra_options == {"countdown": 2, "pause_after_failures": "x"}
        # an imported row is left to its next import, which keeps its digest meaningful
        assert new.objects.get(name="imported").extra_options == {"overlap": "skip"}
    finally:
        migrate_to_latest()


def migrate_to_latest():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes(APP))
