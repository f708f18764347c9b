"""What Redis says about the schedule right now, read in one round trip: the entry counts, what
is due and overdue, and the lock's holder and remaining time.

Beat's metrics and health check and the Django metrics view read it at scrape time; it writes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery

from django_redbeat.beat.entry import NEVER
from django_redbeat.beat.status import OVERDUE_AFTER, holder_of
from django_redbeat.decoder import to_timestamp
from django_redbeat.store.connection import get_redis
from django_redbeat.store.redbeat_config import ensure_conf


@dataclass
class ScheduleState:
    now: int  # UNIX seconds, on the app's clock (the one beat judges due times with)
    entries: int
    never: int  # disabled or finished: score -1
    due: int
    overdue: int  # due for longer than ``overdue_after`` seconds
    oldest_due: int | None  # the scheduled time of the entry due first, if any is due
    lock_key: str | None
    lock_token: str | None = None
    lock_ttl: float | None = None  # seconds left; None when nobody holds it or it has no TTL

    @property
    def lock_holder(self) -> tuple[str | None, int | None]:
        """The holder's host and pid (None, None when free or not one of our tokens)."""
        return holder_of(self.lock_token) if self.lock_token else (None, None)


def read_state(app: Celery, overdue_after: float = OVERDUE_AFTER) -> ScheduleState:
    """The schedule's state (RedisError if Redis cannot be read)."""
    conf = ensure_conf(app)
    now = to_timestamp(app.now())
    with get_redis(app).pipeline(transaction=False) as pipe:
        pipe.zcard(conf.schedule_key)
        pipe.zcount(conf.schedule_key, NEVER, NEVER)
        pipe.zcount(conf.schedule_key, 0, now)
        pipe.zcount(conf.schedule_key, 0, f"({now - overdue_after}")
        pipe.zrangebyscore(conf.schedule_key, 0, now, 0, 1, withscores=True)
        if conf.lock_key:
            pipe.get(conf.lock_key)
            pipe.pttl(conf.lock_key)
        entries, never, due, overdue, first, *lock = pipe.execute()
    state = ScheduleState(
        now, entries, never, due, overdue, int(first[0][1]) if first else None, conf.lock_key
    )
    if lock:
        token, pttl = lock
        state.lock_token = token
        state.lock_ttl = pttl / 1000 if token is not None and pttl >= 0 else None
    return state
