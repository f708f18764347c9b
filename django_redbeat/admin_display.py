"""How the admin list shows a task: its schedule in words with the raw expression on hover, and
times to the second where the schedule repeats within the hour, with "in 4 s" / "12 s ago".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from celery.schedules import maybe_schedule
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from django_redbeat import model_schedules, schedule_words

#: Schedules that repeat more often than this show their times to the second.
SECONDS_UNDER = timedelta(hours=1)


def schedule_cell(task: Any) -> SafeString:
    return format_html(
        '<span class="redbeat-schedule" title="{}">{}</span>',
        schedule_words.raw(task), schedule_words.describe(task),
    )  # fmt: skip


def repeats_within_the_hour(task: Any, app: Any) -> bool:
    """Whether the schedule's runs are less than an hour apart (the next two, for a crontab or an
    rrule, as their gaps vary)."""
    try:
        schedule = maybe_schedule(task.schedule, app=app)
    except (ValueError, TypeError):
        return False
    if task.kind == "interval":
        return schedule.run_every < SECONDS_UNDER
    if task.kind not in ("crontab", "rrule"):
        return False
    first, *rest = model_schedules.upcoming(schedule, None, count=2) or [None]
    return bool(rest) and rest[0] - first < SECONDS_UNDER


def run_time_cell(task: Any, moment: datetime, app: Any) -> SafeString:
    """A run time of ``task``, against the app's clock (the one beat judges due times on)."""
    return time_cell(moment, app.now(), repeats_within_the_hour(task, app))


def time_cell(moment: datetime, now: datetime, seconds: bool) -> SafeString:
    """The time in the current time zone, short (the date only when not today), and how far it
    is from ``now``; the full time is its title."""
    local, today = timezone.localtime(moment), timezone.localtime(now).date()
    shown = local.strftime(_layout(local, today, seconds))
    return format_html(
        '<time datetime="{}" title="{}">{}</time> <span class="redbeat-relative">{}</span>',
        local.isoformat(), local.strftime("%Y-%m-%d %H:%M:%S %Z"), shown,
        relative(moment - now, seconds),
    )  # fmt: skip


def _layout(local: datetime, today: Any, seconds: bool) -> str:
    clock = "%H:%M:%S" if seconds else "%H:%M"
    if local.date() == today:
        return clock
    return f"%b %d {clock}" if local.year == today.year else f"%Y-%m-%d {clock}"


def relative(delta: timedelta, seconds: bool = True) -> str:
    """ "in 4 s", "12 s ago", "in 3 min", "2 h 5 min ago"... ("now" within the second)."""
    total = round(delta.total_seconds())
    if total == 0:
        return "now"
    return f"in {_span(abs(total), seconds)}" if total > 0 else f"{_span(abs(total), seconds)} ago"


def _span(total: int, seconds: bool) -> str:
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "min")]
    if seconds or total < 60:
        units.append((secs, "s"))
    shown = [f"{value} {unit}" for value, unit in units if value]
    return " ".join(shown[:2])  # the two largest units are enough to read at a glance
