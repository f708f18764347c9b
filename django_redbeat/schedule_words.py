"""A task's schedule in words, and its raw expression, for the admin.

Crontabs are put in words by cron-descriptor (the descriptions people know from crontab.guru
and django-celery-beat); rrules, intervals, solar events and one-offs by the functions here.
"""

from __future__ import annotations

from typing import Any

from cron_descriptor import ExpressionDescriptor, Options
from dateutil.rrule import weekday

from django_redbeat import rrule_text

#: Celery's crontab fields in the order of a cron line (Celery's own order differs).
CRON_ORDER = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
UNITS = ("year", "month", "week", "day", "hour", "minute", "second")  # by RRULE FREQ
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def describe(task: Any) -> str:
    """The schedule in words: "Every minute", "every 2 minutes, at second 0"..."""
    words = DESCRIBERS[task.kind](task) if task.kind in DESCRIBERS else ""
    words = words[:1].upper() + words[1:]
    zone = getattr(task, "timezone", "")
    return f"{words} ({zone})" if zone and task.kind in ("crontab", "rrule") else words


def raw(task: Any) -> str:
    """The schedule as written: the cron line, the RRULE, the interval..."""
    if task.kind == "crontab":
        return "cron " + cron_line(task) + " (minute hour day-of-month month day-of-week)"
    if task.kind == "rrule":
        return "RRULE:" + task.rrule
    if task.kind == "interval":
        return f"every={task.every} period={task.period}"
    if task.kind == "solar":
        return f"solar {task.solar_event} {task.latitude} {task.longitude}"
    return f"one-off {task.run_at.isoformat()}" if task.run_at else ""


def cron_line(task: Any) -> str:
    return " ".join(str(getattr(task, field)) for field in CRON_ORDER)


def _interval(task: Any) -> str:
    if not task.every or not task.period:
        return ""
    unit = task.period[:-1]
    return f"every {unit}" if task.every == 1 else f"every {task.every} {task.period}"


def _crontab(task: Any) -> str:
    options = Options()
    options.use_24hour_time_format = True
    try:
        return ExpressionDescriptor(cron_line(task), options).get_description()
    except Exception:  # what it cannot read (Celery's own syntax) is shown as written
        return "cron " + cron_line(task)


def _rrule(task: Any) -> str:
    try:
        parts = rrule_text.parse(task.rrule)
    except ValueError:
        return "RRULE:" + task.rrule
    return ", ".join(filter(None, (_every(parts), *_rrule_parts(parts))))


def _every(parts: dict[str, Any]) -> str:
    unit, interval = UNITS[parts["freq"]], parts.get("interval") or 1
    return f"every {unit}" if interval == 1 else f"every {interval} {unit}s"


def _rrule_parts(parts: dict[str, Any]) -> list[str]:
    found = [
        _listed("in", parts.get("bymonth"), lambda month: MONTH_NAMES[month - 1]),
        _listed("on day", parts.get("bymonthday"), str, "of the month"),
        _listed("on day", parts.get("byyearday"), str, "of the year"),
        _listed("in week", parts.get("byweekno"), str),
        _listed("on", parts.get("byweekday"), _day),
        _time_of_day(parts),
        _listed("at position", parts.get("bysetpos"), str, "of the set"),
    ]
    if parts.get("byeaster") is not None:
        found.append(f"{parts['byeaster']:+d} days from Easter")
    if parts.get("count"):
        found.append("once" if parts["count"] == 1 else f"{parts['count']} times")
    if parts.get("until"):
        found.append(f"until {parts['until']:%Y-%m-%d %H:%M:%S}")
    return [part for part in found if part]


def _listed(before: str, values: Any, name: Any, after: str = "") -> str:
    if values is None:
        return ""
    items = [name(value) for value in (values if isinstance(values, list) else [values])]
    joined = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return " ".join(filter(None, (before, joined, after)))


def _day(day: weekday) -> str:
    name = DAY_NAMES[day.weekday]
    if not day.n:
        return name
    if day.n == -1:
        return f"the last {name}"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(abs(day.n) % 10 if abs(day.n) > 20 else abs(day.n))
    ordinal = f"{abs(day.n)}{suffix or 'th'}"
    return f"the {ordinal} {name}" if day.n > 0 else f"the {ordinal} last {name}"


def _time_of_day(parts: dict[str, Any]) -> str:
    hours, minutes, seconds = (parts.get(name) for name in ("byhour", "byminute", "bysecond"))
    if hours and minutes and len(hours) * len(minutes) <= 4 and len(seconds or [0]) == 1:
        second = (seconds or [0])[0]
        tail = f":{second:02}" if second else ""
        return _listed("at", [f"{h:02}:{m:02}{tail}" for h in hours for m in minutes], str)
    found = (
        _listed("at hour", hours, str), _listed("at minute", minutes, str),
        _listed("at second", seconds, str),
    )  # fmt: skip
    return ", ".join(filter(None, found))


def _solar(task: Any) -> str:
    event = (task.solar_event or "").replace("_", " ")
    return f"at {event}, {task.latitude}° {task.longitude}°"


def _oneoff(task: Any) -> str:
    return f"once, at {task.run_at:%Y-%m-%d %H:%M:%S %Z}" if task.run_at else ""


DESCRIBERS = {
    "interval": _interval,
    "crontab": _crontab,
    "rrule": _rrule,
    "solar": _solar,
    "oneoff": _oneoff,
}
