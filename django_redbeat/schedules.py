"""Schedule types beyond Celery's own: rrule, a crontab in its own time zone, a one-off.

Celery's ``schedule`` (interval) and ``solar`` are used as they are. Time zones are IANA names
(zoneinfo) so a schedule keeps its wall-clock time across DST changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery import schedules as celery_schedules
from celery.schedules import BaseSchedule, schedstate
from dateutil import rrule as dateutil
from dateutil.rrule import weekday

__all__ = ["crontab", "oneoff", "rrule", "zone_name"]

#: The rrule fields that take a whole number, and those that take whole numbers (one or a list):
#: the RRULE text's INTERVAL, COUNT and BYMONTH, BYHOUR, ... parts.
RULE_INT_FIELDS = ("interval", "count")
RULE_INT_LIST_FIELDS = (
    "bysetpos", "bymonth", "bymonthday", "byyearday", "byeaster", "byweekno", "byhour",
    "byminute", "bysecond",
)  # fmt: skip
#: The moments of a rule: stored as UNIX seconds with their UTC offset on the wire.
RULE_MOMENT_FIELDS = ("dtstart", "until")
#: Every field of a rule, in the order celery-redbeat names them: the constructor's arguments.
RULE_FIELDS = (
    "freq", "dtstart", "interval", "wkst", "count", "until", "bysetpos", "bymonth",
    "bymonthday", "byyearday", "byeaster", "byweekno", "byweekday", "byhour", "byminute",
    "bysecond",
)  # fmt: skip
#: A crontab's five fields, as Celery names them (and the wire format and the model too).
CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


def get_zone(name: str | tzinfo | None) -> ZoneInfo | None:
    """The ZoneInfo for an IANA name (or a ZoneInfo); None for None."""
    if name is None or isinstance(name, ZoneInfo):
        return name
    key = zone_name(name) if isinstance(name, tzinfo) else name
    try:
        return ZoneInfo(str(key))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # a fixed offset has no name: it would freeze the offset (DST drift)
        raise ValueError(f"{name!r} is not an IANA time zone name") from exc


def zone_name(tz: tzinfo | None) -> str | None:
    """The IANA name of a zoneinfo or pytz zone; None for fixed offsets and naive values."""
    return getattr(tz, "key", None) or getattr(tz, "zone", None)


def _whole_second(dt: datetime) -> datetime:
    # dateutil drops microseconds from dtstart, and the wire format keeps whole seconds: the
    # rule's dtstart says so too, so that it reads the same before and after a save. As in
    # celery-redbeat, a given dtstart's first occurrence is the second it falls in.
    return dt.replace(microsecond=0)


def _next_second(now: datetime) -> datetime:
    # the default dtstart: rrule.after(last_run_at=now) is exclusive, so a rule started in the
    # current second would first fire a whole period later; the next second fires at once
    return _whole_second(now) + timedelta(seconds=1)


def _normal(value: Any) -> Any:
    """A by* value as compared: JSON gives lists for tuples, and MO for weekday 0 is 0."""
    if isinstance(value, (list, tuple)):
        return tuple(_normal(item) for item in value)
    if isinstance(value, weekday) and value.n is None:
        return value.weekday
    return value


def _next_state(schedule: BaseSchedule, last_run_at: datetime) -> schedstate:
    """Celery's is_due contract for schedules whose remaining_estimate can end (None)."""
    remaining = schedule.remaining_estimate(last_run_at)
    if remaining is None:
        return schedstate(False, None)
    if remaining.total_seconds() > 0:
        return schedstate(False, remaining.total_seconds())
    following = schedule.remaining_estimate(schedule.now())
    return schedstate(True, None if following is None else max(following.total_seconds(), 0))


def crontab_remaining(
    schedule: celery_schedules.crontab, last_run_at: datetime, ffwd: Any = None
) -> timedelta:
    """The time to a crontab's next run after ``last_run_at``, measured in UTC as Celery 5.5+
    measures it: Celery 5.3 and 5.4 subtract two times of one zone on the wall clock, which is
    an hour off across a DST change (a 09:00 crontab ran at 10:00 the day clocks go forward)."""
    delta_args = {} if ffwd is None else {"ffwd": ffwd}
    start, ends_in, now = schedule.remaining_delta(last_run_at, **delta_args)
    return (start + ends_in).astimezone(timezone.utc) - now.astimezone(timezone.utc)


class crontab(celery_schedules.crontab):
    """Celery's crontab, optionally evaluated in its own IANA time zone.

    Without ``timezone`` it is exactly Celery's crontab (in the app's time zone).
    """

    def __init__(
        self,
        minute: Any = "*",
        hour: Any = "*",
        day_of_week: Any = "*",
        day_of_month: Any = "*",
        month_of_year: Any = "*",
        timezone: str | tzinfo | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(minute, hour, day_of_week, day_of_month, month_of_year, **kwargs)
        self._zone = get_zone(timezone)

    @property
    def timezone(self) -> str | None:
        return zone_name(self._zone)

    @property  # type: ignore[override]
    def tz(self) -> tzinfo:
        return self._zone or self.app.timezone

    def now(self) -> datetime:
        return self.maybe_make_aware(super().now()).astimezone(self.tz)

    def remaining_delta(self, last_run_at: datetime, tz: Any = None, ffwd: Any = None) -> Any:
        # older Celery versions compare crontab fields in last_run_at's own zone
        last_run_at = self.maybe_make_aware(last_run_at).astimezone(self.tz)
        if ffwd is None:
            return super().remaining_delta(last_run_at, tz=tz)
        return super().remaining_delta(last_run_at, tz=tz, ffwd=ffwd)

    def remaining_estimate(self, last_run_at: datetime, ffwd: Any = None) -> timedelta:
        return crontab_remaining(self, last_run_at, ffwd)

    def with_timezone(self, timezone: str | None) -> crontab:
        return crontab(
            self._orig_minute, self._orig_hour, self._orig_day_of_week,
            self._orig_day_of_month, self._orig_month_of_year,
            timezone=timezone, nowfun=self.nowfun, app=self._app,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        # Celery's own crontab (no timezone attribute) is equal only to a crontab without one
        if self.timezone != getattr(other, "timezone", None):
            return False
        return super().__eq__(other)

    __hash__ = celery_schedules.crontab.__hash__

    def __reduce__(self) -> Any:
        # Celery's __reduce__ rebuilds from the five fields: copies would lose the zone
        cls, fields, kwargs = super().__reduce__()
        return cls, (*fields, self.timezone), kwargs

    def __repr__(self) -> str:
        zone = f" {self.timezone}" if self.timezone else ""
        return super().__repr__()[:-1] + zone + ">"


class rrule(BaseSchedule):
    """An RFC 5545 recurrence rule (python-dateutil), as celery-redbeat's ``rrule``.

    The occurrence at ``dtstart`` (in whole seconds) is the first; without ``dtstart`` the rule
    starts at the next second, so it fires at once. With ``timezone`` (or a zoneinfo ``dtstart``)
    occurrences keep their wall-clock time in that zone across DST changes; a naive ``dtstart``
    is read in that zone.
    """

    FREQ_MAP = {
        "YEARLY": dateutil.YEARLY, "MONTHLY": dateutil.MONTHLY, "WEEKLY": dateutil.WEEKLY,
        "DAILY": dateutil.DAILY, "HOURLY": dateutil.HOURLY, "MINUTELY": dateutil.MINUTELY,
        "SECONDLY": dateutil.SECONDLY,
    }  # fmt: skip

    def __init__(
        self,
        freq: int | str,
        dtstart: datetime | None = None,
        interval: int = 1,
        wkst: Any = None,
        count: int | None = None,
        until: datetime | None = None,
        bysetpos: Any = None,
        bymonth: Any = None,
        bymonthday: Any = None,
        byyearday: Any = None,
        byeaster: Any = None,
        byweekno: Any = None,
        byweekday: Any = None,
        byhour: Any = None,
        byminute: Any = None,
        bysecond: Any = None,
        timezone: str | tzinfo | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._zone = get_zone(timezone or zone_name(getattr(dtstart, "tzinfo", None)))
        self.freq = self._freq(freq)
        if dtstart is None:
            self.dtstart = _next_second(self._aware(self.maybe_make_aware(self.now())))
        else:
            self.dtstart = _whole_second(self._aware(dtstart))
        self.until = self._aware(until) if until else None
        self.interval, self.wkst, self.count = interval, wkst, count
        self.bysetpos, self.bymonth, self.bymonthday = bysetpos, bymonth, bymonthday
        self.byyearday, self.byeaster, self.byweekno = byyearday, byeaster, byweekno
        self.byweekday, self.byhour, self.byminute = byweekday, byhour, byminute
        self.bysecond = bysecond
        self.rrule = dateutil.rrule(**{field: getattr(self, field) for field in RULE_FIELDS})

    @classmethod
    def _freq(cls, freq: int | str) -> int:
        if isinstance(freq, str) and freq.upper() in cls.FREQ_MAP:
            return cls.FREQ_MAP[freq.upper()]
        # dateutil takes any int here and fails only when it computes an occurrence
        if type(freq) is int and freq in cls.FREQ_MAP.values():
            return freq
        raise ValueError(f"freq must be one of {', '.join(cls.FREQ_MAP)} or 0-6, not {freq!r}")

    def _aware(self, dt: datetime) -> datetime:
        if self._zone is None:
            return self.maybe_make_aware(dt)
        if dt.tzinfo is None:
            return dt.replace(tzinfo=self._zone)
        return dt.astimezone(self._zone)

    @property
    def timezone(self) -> str | None:
        return zone_name(self._zone)

    def with_timezone(self, timezone: str | None) -> rrule:
        fields = {field: getattr(self, field) for field in RULE_FIELDS}
        return rrule(**fields, timezone=timezone, nowfun=self.nowfun, app=self._app)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta | None:
        """Time from now until the first occurrence after ``last_run_at``; None when done."""
        following = self.rrule.after(self.maybe_make_aware(last_run_at))
        if following is None:
            return None
        return following - self.maybe_make_aware(self.now())

    def is_due(self, last_run_at: datetime) -> schedstate:
        return _next_state(self, last_run_at)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, rrule):
            return NotImplemented
        return self.timezone == other.timezone and all(
            _normal(getattr(self, field)) == _normal(getattr(other, field))
            for field in RULE_FIELDS
        )

    def __hash__(self) -> int:
        return hash((self.freq, self.dtstart, self.interval, self.count, self.timezone))

    def __repr__(self) -> str:
        fields = ", ".join(f"{field}: {getattr(self, field)}" for field in RULE_FIELDS)
        return f"<rrule: {fields}, timezone: {self.timezone}>"


class oneoff(BaseSchedule):
    """Runs once at ``run_at``; after that run it is finished but stays visible.

    An entry whose ``last_run_at`` is before ``run_at`` has not run yet.
    """

    def __init__(self, run_at: datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(run_at, datetime):
            raise TypeError(f"run_at must be a datetime, not {run_at!r}")
        self.run_at = self.maybe_make_aware(run_at)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta | None:
        if last_run_at is not None and self.maybe_make_aware(last_run_at) >= self.run_at:
            return None
        return self.run_at - self.maybe_make_aware(self.now())

    def is_due(self, last_run_at: datetime) -> schedstate:
        remaining = self.remaining_estimate(last_run_at)
        if remaining is None:
            return schedstate(False, None)
        if remaining.total_seconds() > 0:
            return schedstate(False, remaining.total_seconds())
        return schedstate(True, None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, oneoff):
            return NotImplemented
        return self.run_at == other.run_at

    def __hash__(self) -> int:
        return hash(self.run_at)

    def __repr__(self) -> str:
        return f"<oneoff: {self.run_at.isoformat()}>"
