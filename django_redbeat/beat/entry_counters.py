"""The run state Redis keeps per entry (run count, runs missed, last and next run), read for the
``limit`` entries due first in two round trips: what the Django metrics view exports per entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery import Celery

from django_redbeat.beat.entry import RedBeatSchedulerEntry
from django_redbeat.beat.slot_claims import MISSED_FIELD
from django_redbeat.decoder import to_timestamp
from django_redbeat.exceptions import DecodeError
from django_redbeat.store import keys
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf

logger = logging.getLogger(__name__)


@dataclass
class EntryCounters:
    name: str
    next_run: int  # its score: UNIX seconds
    last_run: int | None  # UNIX seconds; None if it has not run
    runs: int
    missed: int


def read_entry_counters(app: Celery, limit: int) -> list[EntryCounters]:
    """The run state of the ``limit`` scheduled entries due first (disabled ones are left out);
    an entry whose run state cannot be decoded is logged and left out."""
    conf = ensure_conf(app)
    client = get_redis(app)
    first = client.zrangebyscore(conf.schedule_key, 0, "+inf", 0, limit, withscores=True)
    with client.pipeline(transaction=False) as pipe:
        for key, _score in first:
            pipe.hmget(key, "meta", MISSED_FIELD)
        stored = pipe.execute()
    found = []
    for (key, score), (meta, missed) in zip(first, stored, strict=True):
        try:
            run_state = RedBeatSchedulerEntry.decode_meta(meta)
        except DecodeError as exc:
            logger.warning("%s has unreadable run state, left out of the metrics: %s", key, exc)
            continue
        last_run = run_state.get("last_run_at")
        found.append(EntryCounters(
            name=keys.entry_name(conf.key_prefix, key),
            next_run=int(score),
            last_run=None if last_run is None else to_timestamp(last_run),
            runs=int(run_state.get("total_run_count") or 0),
            missed=int(missed or 0),
        ))  # fmt: skip
    return found
