"""The schedule fields of a PeriodicTask <-> the Celery schedule they describe.

One builder per kind. Celery's own ``schedule`` (intervals) and ``solar`` are used as they are;
crontab, rrule and the one-off come from :mod:`django_redbeat.schedules`, so a crontab or rrule
keeps its own IANA time zone on the wire.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from celery.schedules import ParseException, solar
from celery.schedules import crontab as celery_crontab
from celery.schedules import schedule as interval
from django.utils import timezone as django_timezone
from django.utils.translation import gettext as _

from django_redbeat import rrule_text
from django_redbeat.schedules import CRONTAB_FIELDS, crontab, get_zone, oneoff, rrule

#: kind -> the fields it uses; the other kinds' fields are cleared (kept at their defaults).
KIND_FIELDS = {
    "interval": ("every", "period"),
    "crontab": (*CRONTAB_FIELDS, "timezone"),
    "rrule": ("rrule", "timezone"),
    "solar": ("solar_event", "latitude", "longitude"),
    "oneoff": ("run_at",),
}
CLEARED = {
    "every": None, "period": "", "rrule": "", "timezone": "", "solar_event": "",
    "latitude": None, "longitude": None, "run_at": None, **dict.fromkeys(CRONTAB_FIELDS, "*"),
}  # fmt: skip


def _interval(task: Any) -> interval:
    if not task.every or not task.period:
        raise ValueError(_("An interval needs both 'every' and 'period'."))
    return interval(timedelta(**{task.period: task.every}))


def _crontab(task: Any) -> crontab:
    fields = {field: getattr(task, field) for field in CRONTAB_FIELDS}
    return crontab(**fields, timezone=task.timezone or None)


def _rrule(task: Any) -> rrule:
    fields = rrule_text.parse(task.rrule)
    if task.one_off:
        fields["count"] = 1
    return rrule(**fields, dtstart=task.start_time, timezone=task.timezone or None)


def _solar(task: Any) -> solar:
    if not task.solar_event or task.latitude is None or task.longitude is None:
        raise ValueError(_("A solar schedule needs an event, a latitude and a longitude."))
    return solar(task.solar_event, float(task.latitude), float(task.longitude))


def _oneoff(task: Any) -> oneoff:
    if task.run_at is None:
        raise ValueError(_("A one-off schedule needs the time to run at."))
    return oneoff(task.run_at)


BUILDERS: dict[str, Callable[[Any], Any]] = {
    "interval": _interval,
    "crontab": _crontab,
    "rrule": _rrule,
    "solar": _solar,
    "oneoff": _oneoff,
}


def to_schedule(task: Any) -> Any:
    builder = BUILDERS.get(task.kind)
    if builder is None:
        raise ValueError(_("Unknown schedule kind %r.") % task.kind)
    return builder(task)


def clear_other_kinds(task: Any) -> None:
    """Reset the fields no schedule of this kind uses, so one row holds one schedule."""
    kept = set(KIND_FIELDS.get(task.kind, ()))
    for field, empty in CLEARED.items():
        if field not in kept:
            setattr(task, field, empty)


def fill_defaults(task: Any) -> None:
    """Set what a schedule of this kind needs to be the same at every save."""
    if task.kind == "oneoff":
        task.one_off = True
    if task.kind == "rrule" and task.start_time is None:
        # a stable DTSTART: without one the rule would restart at every save
        task.start_time = django_timezone.now().replace(microsecond=0)


def errors(task: Any) -> dict[str, str]:
    """Field name -> message for each invalid schedule field (empty when the schedule is valid)."""
    found = _policy_errors(task)
    if task.timezone:
        try:
            get_zone(task.timezone)
        except ValueError as exc:
            found["timezone"] = str(exc)
    if not found and task.kind in BUILDERS:
        found.update(_build_errors(task))
    elif task.kind == "crontab":
        found.update(_crontab_errors(task))
    return found


def _build_errors(task: Any) -> dict[str, str]:
    # the schedule is built once; a crontab's fields are tried one by one only when it fails,
    # to name the wrong one (a crontab costs tens of microseconds, an import builds thousands)
    try:
        to_schedule(task)
    except (ValueError, TypeError, ParseException) as exc:
        found = _crontab_errors(task) if task.kind == "crontab" else {}
        return found or {_main_field(task.kind): str(exc)}
    return {}


def _policy_errors(task: Any) -> dict[str, str]:
    # a start time is the rrule's DTSTART, and the other kinds' run policy bound (model_policies)
    found = {}
    if task.one_off and task.kind not in ("rrule", "oneoff"):
        found["one_off"] = _("'Run once' applies to rrule and one-off schedules only.")
    return found


def _crontab_errors(task: Any) -> dict[str, str]:
    found = {}
    for field in CRONTAB_FIELDS:
        try:
            crontab(**{field: getattr(task, field)})
        except Exception as exc:  # celery's ParseException is no ValueError
            found[field] = _("Invalid %(field)s: %(error)s") % {"field": field, "error": exc}
    return found


def _main_field(kind: str) -> str:
    return {"interval": "every", "solar": "solar_event"}.get(kind, KIND_FIELDS[kind][0])


def to_fields(value: Any) -> dict[str, Any]:
    """The PeriodicTask field values for a Celery schedule (TypeError for unknown types)."""
    if isinstance(value, celery_crontab):
        fields = {field: str(getattr(value, "_orig_" + field)) for field in CRONTAB_FIELDS}
        return {"kind": "crontab", **fields, "timezone": getattr(value, "timezone", "") or ""}
    if isinstance(value, rrule):
        return {
            "kind": "rrule", "rrule": rrule_text.to_text(value),
            "start_time": value.dtstart, "timezone": value.timezone or "",
        }  # fmt: skip
    if isinstance(value, solar):
        return {"kind": "solar", "solar_event": value.event, "latitude": value.lat,
                "longitude": value.lon}  # fmt: skip
    if isinstance(value, oneoff):
        return {"kind": "oneoff", "run_at": value.run_at, "one_off": True}
    if isinstance(value, interval):
        return {"kind": "interval", **_every(value.run_every)}
    raise TypeError(f"{type(value).__name__} is not a schedule django-redbeat can store")


def _every(delta: timedelta) -> dict[str, Any]:
    seconds = delta.total_seconds()
    if seconds != int(seconds) or seconds < 1:
        raise TypeError(f"an interval of {seconds} s is not a whole number of seconds")
    seconds = int(seconds)
    for period, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0:
            return {"every": seconds // size, "period": period}
    return {"every": seconds, "period": "seconds"}


def upcoming(schedule: Any, last_run_at: datetime | None, count: int = 5) -> list[datetime]:
    """The next ``count`` run times after ``last_run_at`` (None: never run), in the schedule's
    own time zone; fewer when the schedule ends."""
    zone = get_zone(getattr(schedule, "timezone", None)) or schedule.tz
    # as the engine counts: a new one-off has not run, a new entry of another kind runs from now
    moment = last_run_at or (None if isinstance(schedule, oneoff) else schedule.now())
    times: list[datetime] = []
    for _index in range(count):
        remaining = schedule.remaining_estimate(moment)
        if remaining is None:
            break
        # added in UTC: aware arithmetic in a zone with DST would shift by the DST hour
        moment = schedule.now().astimezone(timezone.utc) + max(remaining, timedelta(0))
        times.append(moment.astimezone(zone))
    return times
