"""RFC 5545 RRULE text (``FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9``) <-> rrule keyword arguments.

The admin edits a rule as one line of text, the form people know from calendars; the schedule
itself is built by :class:`django_redbeat.schedules.rrule`, which validates the combination.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from dateutil.rrule import weekday, weekdays

from django_redbeat.schedules import RULE_INT_FIELDS, RULE_INT_LIST_FIELDS

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
INT_PARTS = tuple(field.upper() for field in RULE_INT_FIELDS)
INT_LIST_PARTS = tuple(field.upper() for field in RULE_INT_LIST_FIELDS)
DAY_PATTERN = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
UNTIL_FORMATS = ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d")


def parse(text: str) -> dict[str, Any]:
    """The rrule keyword arguments for an RRULE line; ValueError names the bad part."""
    text = text.strip().removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for item in filter(None, text.split(";")):
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise ValueError(f"{item!r} is not NAME=VALUE")
        parts[name.strip().upper()] = value.strip().upper()
    if parts.get("FREQ") not in FREQS:
        raise ValueError(f"FREQ must be one of {', '.join(FREQS)}")
    return {_argument(name): _value(name, value) for name, value in parts.items()}


def _argument(name: str) -> str:
    return "byweekday" if name == "BYDAY" else name.lower()


def _value(name: str, value: str) -> Any:
    if name == "FREQ":
        return FREQS.index(value)
    if name in INT_PARTS:
        return _int(name, value)
    if name in INT_LIST_PARTS:
        return [_int(name, item) for item in value.split(",")]
    if name == "BYDAY":
        return [_day(item) for item in value.split(",")]
    if name == "WKST":
        return _day(value)
    if name == "UNTIL":
        return _until(value)
    raise ValueError(f"{name} is not an RRULE part")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} takes whole numbers, not {value!r}") from None


def _day(value: str) -> weekday:
    match = DAY_PATTERN.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a day (MO, TU, ... or +1MO, -1FR)")
    day = weekdays[DAYS.index(match.group(2))]
    return day(int(match.group(1))) if match.group(1) else day


def _until(value: str) -> datetime:
    for layout in UNTIL_FORMATS:
        try:
            until = datetime.strptime(value, layout)
        except ValueError:
            continue
        # with a trailing Z it is UTC; without, the rule's own time zone applies (RFC 5545)
        return until.replace(tzinfo=timezone.utc) if value.endswith("Z") else until
    raise ValueError(f"UNTIL must look like 20261231T235959Z, not {value!r}")


def to_text(rule: Any) -> str:
    """The RRULE line of an rrule schedule (its dtstart and time zone are stored apart)."""
    parts = [f"FREQ={FREQS[rule.freq]}"]
    for name in ("INTERVAL", "COUNT", *INT_LIST_PARTS):
        value = getattr(rule, name.lower())
        if value is not None and not (name == "INTERVAL" and value == 1):
            parts.append(f"{name}={_join(value)}")
    if rule.byweekday is not None:
        parts.append(f"BYDAY={_join(_days(rule.byweekday))}")
    if rule.wkst is not None:
        parts.append(f"WKST={_days(rule.wkst)[0]}")
    if rule.until is not None:
        parts.append(f"UNTIL={rule.until.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}")
    return ";".join(parts)


def _join(value: Any) -> str:
    items = value if isinstance(value, (list, tuple)) else [value]
    return ",".join(str(item) for item in items)


def _days(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    days = [item if isinstance(item, weekday) else weekdays[item] for item in items]
    return [f"{day.n:+d}{DAYS[day.weekday]}" if day.n else DAYS[day.weekday] for day in days]
