"""Jitter: the same send time for a given (entry, slot) on every beat, in every process, so a
failover cannot send a slot twice; and the slot still goes out once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from django_redbeat.beat.headers import SCHEDULED_AT_HEADER
from django_redbeat.beat.run_bounds import jitter_offset
from django_redbeat.beat.run_policy import RunPolicy
from django_redbeat.decoder import to_timestamp
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from django_redbeat.schedules import crontab

SLOTS = [1_768_478_400 + 60 * n for n in range(50)]
OFFSETS = (
    "import json\nfrom django_redbeat.beat.run_bounds import jitter_offset\n"
    f"print(json.dumps([jitter_offset('job', slot, 50) for slot in {SLOTS!r}]))"
)


def offsets_in_a_process(hash_seed: str) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", OFFSETS], env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
        capture_output=True, text=True, check=True, cwd=".",
    )  # fmt: skip
    return json.loads(done.stdout)


def test_two_processes_give_a_slot_the_same_jitter():
    here = [jitter_offset("job", slot, 50) for slot in SLOTS]
    assert offsets_in_a_process("1") == offsets_in_a_process("2") == here
    assert len(set(here)) > 10 and all(0 <= offset <= 50 for offset in here)


def test_two_beats_score_and_send_a_jittered_slot_alike(celery_app, clock, broker):
    celery_app.conf.redbeat_lock_key = None
    first, second = RedBeatScheduler(app=celery_app), RedBeatScheduler(app=celery_app)
    start = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
    entry = RedBeatSchedulerEntry(
        "job", "tests.add", crontab(), options={"queue": "q"}, last_run_at=start,
        policy=RunPolicy(jitter=50), app=celery_app,
    ).save()  # fmt: skip
    slot = start + timedelta(minutes=1)
    due = slot + timedelta(seconds=jitter_offset("job", slot, 50))
    on_each = [
        RedBeatSchedulerEntry.from_key(entry.key, app=beat.app).score_at(clock())
        for beat in (first, second)
    ]
    assert on_each == [to_timestamp(due)] * 2

    clock.current = due + timedelta(seconds=0.5)
    first.tick()
    second.tick()
    messages = broker.messages("q")
    assert [m.headers[SCHEDULED_AT_HEADER] for m in messages] == [due.isoformat()]
    first.close()
    second.close()
