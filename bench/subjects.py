"""The three schedulers under test, behind one small interface.

Each subject writes N entries through its own API (``create``) or its fastest path
(``populate``, untimed set-up), starts a scheduler (construct it and take the lock where it has
one, as ``celery beat`` does) and ticks it. Every entry is an interval entry sending
``bench.noop`` with one argument:

- ``far``: every day, last run now, so due in a day (idle beat);
- ``due``: every hour, last run 90 minutes ago (all due, as after a half-hour downtime, and
  inside django-redbeat's catch-up window of one period: two hours ago, it counts them missed);
- ``soon``: every hour, last run an hour before ``at`` (due at ``at``, UNIX seconds).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from celery import Celery

from bench.producer import TASK

SUBJECTS = ("django-redbeat", "celery-redbeat", "django-celery-beat")

#: Django settings of the subjects that are Django apps (admin case, django-celery-beat).
DJANGO_SETTINGS = {
    "django-redbeat": "bench.settings_ours",
    "django-celery-beat": "bench.settings_dcb",
}


def specs(
    n: int, kind: str, at: float | None = None, first: int = 0
) -> Iterator[tuple[str, int, float, datetime]]:
    """(name, its argument, every seconds, last_run_at) for ``n`` entries of a kind."""
    now = datetime.now(timezone.utc)
    every, last = {
        "far": (86400.0, now),
        "due": (3600.0, now - timedelta(minutes=90)),
        "soon": (3600.0, datetime.fromtimestamp((at or 0) - 3600, timezone.utc)),
    }[kind]
    for i in range(first, first + n):
        yield f"bench-{kind}-{i:06d}", i, every, last


class Subject:
    name = ""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.scheduler: Any = None

    def create(self, n: int, kind: str) -> None:
        """Write ``n`` entries through the scheduler's own API (what the benchmark times)."""
        raise NotImplementedError

    def populate(self, n: int, kind: str) -> None:
        """Write ``n`` entries the fastest way the subject allows (untimed set-up)."""
        self.create(n, kind)

    def add_soon(self, n: int, at: float, first: int) -> None:
        """Write ``n`` entries due at ``at``, named from ``first`` on, through the own API."""
        raise NotImplementedError

    def start(self) -> None:
        """Construct the scheduler, take its lock, run the first tick."""
        raise NotImplementedError

    def tick(self) -> float:
        return float(self.scheduler.tick())

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.close()


class DjangoRedBeat(Subject):
    name = "django-redbeat"

    def _entries(self, n: int, kind: str, at: float | None = None, first: int = 0) -> list[Any]:
        from django_redbeat.schedulers import RedBeatSchedulerEntry

        return [
            RedBeatSchedulerEntry(
                name, TASK, timedelta(seconds=every), args=[arg], last_run_at=last, app=self.app
            )
            for name, arg, every, last in specs(n, kind, at, first)
        ]

    def create(self, n: int, kind: str) -> None:
        from django_redbeat.schedulers import RedBeatSchedulerEntry

        RedBeatSchedulerEntry.save_many(self._entries(n, kind), app=self.app)

    def populate(self, n: int, kind: str) -> None:
        populate_redis(self.app, n, kind)

    def add_soon(self, n: int, at: float, first: int) -> None:
        from django_redbeat.schedulers import RedBeatSchedulerEntry

        RedBeatSchedulerEntry.save_many(self._entries(n, "soon", at, first), app=self.app)

    def start(self) -> None:
        from django_redbeat.schedulers import RedBeatScheduler

        self.scheduler = RedBeatScheduler(app=self.app)
        self.scheduler.tick()  # takes the lock, installs statics, reads the due window


def populate_redis(app: Celery, n: int, kind: str, chunk: int = 10_000) -> None:
    """Entries in celery-redbeat's wire format (both Redis subjects read them), written with
    django-redbeat's pipelined save_many in chunks: set-up only, never timed."""
    from django_redbeat.schedulers import RedBeatSchedulerEntry

    ours = DjangoRedBeat(app)
    for first in range(0, n, chunk):
        size = min(chunk, n - first)
        RedBeatSchedulerEntry.save_many(ours._entries(size, kind, first=first), app=app)


class CeleryRedBeat(Subject):
    name = "celery-redbeat"

    def _save(self, n: int, kind: str, at: float | None = None, first: int = 0) -> None:
        from redbeat import RedBeatSchedulerEntry

        for name, arg, every, last in specs(n, kind, at, first):
            RedBeatSchedulerEntry(
                name, TASK, timedelta(seconds=every), args=[arg], last_run_at=last, app=self.app
            ).save()

    def create(self, n: int, kind: str) -> None:
        self._save(n, kind)  # celery-redbeat has no bulk write: save() each

    def populate(self, n: int, kind: str) -> None:
        populate_redis(self.app, n, kind)

    def add_soon(self, n: int, at: float, first: int) -> None:
        self._save(n, "soon", at, first)

    def start(self) -> None:
        from redbeat.schedulers import RedBeatScheduler, acquire_distributed_beat_lock

        self.scheduler = RedBeatScheduler(app=self.app)
        # what its beat_init handler does when `celery beat` starts
        acquire_distributed_beat_lock(sender=SimpleNamespace(scheduler=self.scheduler))
        self.scheduler.tick()


class DjangoCeleryBeat(Subject):
    name = "django-celery-beat"

    def __init__(self, app: Celery) -> None:
        super().__init__(app)
        django_setup(self.name)

    def _rows(self, n: int, kind: str, at: float | None, first: int) -> list[Any]:
        from django_celery_beat.models import IntervalSchedule, PeriodicTask

        rows, intervals = [], {}
        for name, arg, every, last in specs(n, kind, at, first):
            if every not in intervals:
                intervals[every], _ = IntervalSchedule.objects.get_or_create(
                    every=int(every), period=IntervalSchedule.SECONDS
                )
            rows.append(
                PeriodicTask(
                    name=name, task=TASK, interval=intervals[every], args=f"[{arg}]",
                    last_run_at=last,
                )
            )  # fmt: skip
        return rows

    def create(self, n: int, kind: str, at: float | None = None, first: int = 0) -> None:
        from django_celery_beat.models import PeriodicTask, PeriodicTasks

        PeriodicTask.objects.bulk_create(self._rows(n, kind, at, first))
        PeriodicTasks.update_changed()  # bulk_create sends no signal: tell beat ourselves

    def add_soon(self, n: int, at: float, first: int) -> None:
        self.create(n, "soon", at, first)

    def start(self) -> None:
        from django_celery_beat.schedulers import DatabaseScheduler

        self.scheduler = DatabaseScheduler(app=self.app)  # reads every enabled row
        self.scheduler.tick()


def django_setup(subject: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = DJANGO_SETTINGS[subject]
    import django

    django.setup()


def make_subject(name: str, app: Celery) -> Subject:
    classes = {cls.name: cls for cls in (DjangoRedBeat, CeleryRedBeat, DjangoCeleryBeat)}
    return classes[name](app)
