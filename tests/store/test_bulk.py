"""save_many's script calls: chunks, what is read back, one wake-up message per save."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.schedules import schedule

from django_redbeat.decoder import to_timestamp
from django_redbeat.schedulers import RedBeatSchedulerEntry
from django_redbeat.store import bulk

SCHEDULE_KEY = "redbeat::schedule"


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 3)


def entries(app, count, seconds=60):
    every = schedule(timedelta(seconds=seconds))
    return [RedBeatSchedulerEntry(f"e{i}", "tests.add", every, app=app) for i in range(count)]


def test_entries_past_one_chunk_are_all_written(celery_app, redis_client, clock, small_chunks):
    written = RedBeatSchedulerEntry.save_many(entries(celery_app, 8), app=celery_app)

    assert written == 8
    scores = dict(redis_client.zrange(SCHEDULE_KEY, 0, -1, withscores=True))
    assert scores == {f"redbeat:e{i}": to_timestamp(clock()) + 60 for i in range(8)}
    assert all(redis_client.hexists(f"redbeat:e{i}", "meta") for i in range(8))


def test_a_save_wakes_beat_once_after_its_last_chunk(celery_app, redis_client, small_chunks):
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("redbeat::wakeup")
    assert pubsub.get_message(timeout=1) is None  # the subscription is in place

    RedBeatSchedulerEntry.save_many(entries(celery_app, 8), app=celery_app)

    message = pubsub.get_message(timeout=5)
    assert message is not None and message["data"] == "saved"
    assert redis_client.zcard(SCHEDULE_KEY) == 8  # every chunk was written before it
    assert pubsub.get_message(timeout=0.2) is None
    pubsub.close()


def test_read_stored_gives_none_for_what_is_missing(celery_app, redis_client, small_chunks):
    RedBeatSchedulerEntry.save_many(entries(celery_app, 4), app=celery_app)
    redis_client.hdel("redbeat:e1", "meta")
    redis_client.zrem(SCHEDULE_KEY, "redbeat:e2")
    wanted = ["redbeat:e0", "redbeat:e1", "redbeat:e2", "redbeat:nothing"]

    stored = bulk.read_stored(redis_client, SCHEDULE_KEY, wanted, ["meta", "nope"])

    assert [values[0] is not None for values, _ in stored] == [True, False, True, False]
    assert [values[1] for values, _ in stored] == [None] * 4
    assert [score is not None for _, score in stored] == [True, True, False, False]


def test_only_changed_skips_unchanged_entries_in_every_chunk(
    celery_app, redis_client, small_chunks
):
    RedBeatSchedulerEntry.save_many(entries(celery_app, 8), app=celery_app)
    changed = entries(celery_app, 8)
    changed[4].args = (1,)
    changed[7].args = (2,)

    written = RedBeatSchedulerEntry.save_many(changed, app=celery_app, only_changed=True)

    assert written == 2
    assert RedBeatSchedulerEntry.from_key("redbeat:e7", app=celery_app).args == [2]


def test_values_shared_by_a_chunk_are_written_as_each_entrys_own(
    celery_app, redis_client, small_chunks
):
    # a value that every entry of a chunk has is sent once, the others one by one (a chunk of
    # one entry has only shared values)
    redis_client.hset("redbeat:e2", "meta", '{"last_run_at": null, "total_run_count": 3}')

    RedBeatSchedulerEntry.save_many(
        entries(celery_app, 4),
        app=celery_app,
        extra_fields=lambda entry, _: {"same": "x", "own": entry.name},
    )

    for i in range(4):
        assert redis_client.hmget(f"redbeat:e{i}", "same", "own") == ["x", f"e{i}"]
    assert RedBeatSchedulerEntry.from_key("redbeat:e2", app=celery_app).total_run_count == 3
    assert RedBeatSchedulerEntry.from_key("redbeat:e3", app=celery_app).total_run_count == 0
