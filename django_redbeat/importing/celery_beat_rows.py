"""django-celery-beat's PeriodicTask rows, read as the field values of ours
(``redbeat_import --from-django-celery-beat``).

django-celery-beat is imported here only, when such an import runs: django-redbeat does not
depend on it. Each row gives the values of one task, its schedule's fields copied into it (a task
here owns its schedule), and the run state it had (last run, run count: here it lives in Redis).
django-celery-beat's ``start_time`` (no run before it), ``expires`` (no run after it, besides the
sent task's expiry) and ``one_off`` on a recurring schedule (run once) become the task's run
policy (its fields ``start_time``, ``end_time``, ``max_runs`` 1). A row that cannot be copied gets
the reason, naming the field.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import CharField, Model
from django.db.models.functions import Cast
from django.utils import timezone

from django_redbeat.exceptions import RedBeatError
from django_redbeat.importing.rows import EntryError
from django_redbeat.models import Period, Source
from django_redbeat.schedules import CRONTAB_FIELDS

APP = "django_celery_beat"
#: django-celery-beat's schedule foreign keys; a row sets exactly one.
SCHEDULE_FIELDS = ("interval", "crontab", "solar", "clocked")
MICROSECONDS_PER_SECOND = 1_000_000


class CeleryBeatMissing(RedBeatError):
    """django-celery-beat is not installed, so there is nothing to read."""


@dataclass(frozen=True)
class CeleryBeatRow:
    """One of django-celery-beat's rows: the values of our task (None if it cannot be
    copied, and ``error`` says why), and the run state it had."""

    name: str
    given: dict[str, Any] | None
    error: str = ""
    last_run_at: datetime | None = None
    total_run_count: int = 0


def read_rows() -> list[CeleryBeatRow]:
    """Every row of django-celery-beat's PeriodicTask, with its schedule, in one query."""
    rows = (
        _model()
        .objects.select_related(*SCHEDULE_FIELDS)
        # the crontab's zone as stored: django-celery-beat's field refuses to load an unknown
        # one, which would stop the whole query rather than name the row
        .defer("crontab__timezone")
        .annotate(crontab_zone=Cast("crontab__timezone", CharField()))
        .order_by("name")
    )
    return [_read(old) for old in rows]


def _model() -> type[Model]:
    if not apps.is_installed(APP):
        raise CeleryBeatMissing(
            f"{APP} is not in INSTALLED_APPS: keep django-celery-beat installed, and its "
            "tables, until its tasks are copied."
        )
    return apps.get_model(APP, "PeriodicTask")


def _read(old: Any) -> CeleryBeatRow:
    run = {"last_run_at": _aware(old.last_run_at), "total_run_count": old.total_run_count or 0}
    try:
        given = given_fields(old)
    except EntryError as exc:
        return CeleryBeatRow(old.name, None, str(exc), **run)
    return CeleryBeatRow(old.name, given, **run)


def given_fields(old: Any) -> dict[str, Any]:
    """Our task's field values for one of django-celery-beat's rows (EntryError if it has
    something ours cannot hold). The values are checked by the model afterwards."""
    schedule = schedule_fields(old)
    return {
        "name": old.name, "task": old.task, "enabled": old.enabled,
        "args": _json(old, "args", list), "kwargs": _json(old, "kwargs", dict),
        "headers": _json(old, "headers", dict), "description": old.description or "",
        "queue": old.queue or "", "exchange": old.exchange or "",
        "routing_key": old.routing_key or "", "priority": old.priority,
        "expires": old.expires, "expire_seconds": old.expire_seconds,
        "source": Source.CELERY_BEAT_DB, **schedule, **_limits(old, schedule["kind"]),
    }  # fmt: skip


def schedule_fields(old: Any) -> dict[str, Any]:
    """The schedule fields of ours for the one schedule the row sets."""
    chosen = [name for name in SCHEDULE_FIELDS if getattr(old, f"{name}_id") is not None]
    if not chosen:
        raise EntryError("no schedule: none of interval, crontab, solar and clocked is set")
    if len(chosen) > 1:
        raise EntryError(f"{' and '.join(chosen)} are both set: a task has one schedule")
    kind = chosen[0]
    schedule = getattr(old, kind)
    if schedule is None:
        raise EntryError(f"{kind}: its schedule row ({getattr(old, kind + '_id')}) is missing")
    return _BUILDERS[kind](schedule, old)


def _interval(interval: Any, old: Any) -> dict[str, Any]:
    every, period = interval.every, interval.period
    if period == "microseconds":
        if every % MICROSECONDS_PER_SECOND:
            raise EntryError(
                f"interval: every {every} microseconds is not a whole number of seconds"
            )
        every, period = every // MICROSECONDS_PER_SECOND, Period.SECONDS
    elif period not in Period.values:
        raise EntryError(f"interval: unknown period {period!r}")
    return {"kind": "interval", "every": every, "period": period}


def _crontab(crontab: Any, old: Any) -> dict[str, Any]:
    zone = old.crontab_zone or ""
    if not getattr(settings, "DJANGO_CELERY_BEAT_TZ_AWARE", True):
        zone = ""  # django-celery-beat then ignores the crontab's zone: Celery's is used
    fields = {name: str(getattr(crontab, name)) for name in CRONTAB_FIELDS}
    return {"kind": "crontab", **fields, "timezone": zone}


def _solar(solar: Any, old: Any) -> dict[str, Any]:
    if importlib.util.find_spec("ephem") is None:
        raise EntryError(
            "solar: a solar schedule needs the ephem package "
            "(pip install 'django-redbeat[solar]'), which is not installed"
        )
    return {
        "kind": "solar", "solar_event": solar.event,
        "latitude": float(solar.latitude), "longitude": float(solar.longitude),
    }  # fmt: skip


def _clocked(clocked: Any, old: Any) -> dict[str, Any]:
    return {"kind": "oneoff", "run_at": clocked.clocked_time}


_BUILDERS = {"interval": _interval, "crontab": _crontab, "solar": _solar, "clocked": _clocked}


def _limits(old: Any, kind: str) -> dict[str, Any]:
    """``start_time``, ``expires`` and ``one_off`` as ours holds them: the run policy's
    ``start_time``, ``end_time`` and (a one-off schedule runs once by itself) ``max_runs``."""
    policy: dict[str, Any] = {}
    for name, moment in (("start_time", old.start_time), ("end_time", old.expires)):
        if moment is not None:
            policy[name] = _aware(moment)
    if old.one_off and kind != "oneoff":
        policy["max_runs"] = 1
    return {"one_off": kind == "oneoff", **policy}


def _json(old: Any, field: str, kind: type) -> Any:
    text = getattr(old, field)
    if text is None or not text.strip():
        return kind()
    try:
        return json.loads(text)
    except ValueError as exc:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise EntryError(f"{field}: {shown!r} is not JSON ({exc})") from None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment)
