"""JSON for entries in Redis, in celery-redbeat's wire format.

Values that JSON has no type for are objects with a ``__type__`` key. The common subset
(``datetime``, ``interval``, ``crontab``, ``rrule``, ``weekday``) is written exactly as
celery-redbeat 2.4 writes it, so either can read what the other wrote. What it cannot express is
written only when used, as types of our own it never meets in plain entries: ``zoned`` (a crontab
or rrule in its own IANA time zone), ``solar`` and ``oneoff``; a weekday with an ``n`` (``+1MO``)
carries ``n`` and a datetime in the repeated hour of a DST change carries ``fold`` (both are
keyword arguments of the constructors celery-redbeat passes the fields to, so it reads them too).
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from celery.schedules import crontab as celery_crontab
from celery.schedules import schedule, solar
from dateutil.rrule import weekday

from django_redbeat.exceptions import DecodeError, EncodeError
from django_redbeat.schedules import (
    CRONTAB_FIELDS,
    RULE_FIELDS,
    RULE_MOMENT_FIELDS,
    crontab,
    get_zone,
    oneoff,
    rrule,
    zone_name,
)

__all__ = ["RedBeatJSONDecoder", "RedBeatJSONEncoder", "from_timestamp", "to_timestamp"]

#: An rrule's moments with their offsets on the wire (``dtstart`` and ``dtstart_tz``, ...).
RRULE_FIELDS = frozenset(
    ("freq", *RULE_MOMENT_FIELDS, *(field + "_tz" for field in RULE_MOMENT_FIELDS))
)
#: The fields an rrule object carries as they are.
RRULE_LIST_FIELDS = tuple(
    field for field in RULE_FIELDS if field != "freq" and field not in RULE_MOMENT_FIELDS
)


def to_timestamp(dt: datetime) -> int:
    """Whole seconds since the epoch; a naive value is read as UTC."""
    return calendar.timegm(dt.utctimetuple())


def from_timestamp(seconds: float, tz_minutes: float = 0) -> datetime:
    """An aware datetime for a UNIX time, at a UTC offset in minutes (UTC by default)."""
    tz = timezone(timedelta(minutes=tz_minutes)) if tz_minutes else timezone.utc
    return datetime.fromtimestamp(seconds, tz=tz)


def _offset_minutes(dt: datetime) -> float:
    offset = dt.utcoffset()
    return offset.total_seconds() / 60 if offset else 0


# ---- encoding --------------------------------------------------------------------------------


def _encode_datetime(dt: datetime) -> dict[str, Any]:
    zone: str | float = "UTC"
    if dt.tzinfo is not None:
        # an IANA name when there is one (no DST drift), else the offset in seconds
        zone = zone_name(dt.tzinfo) or dt.utcoffset().total_seconds()  # type: ignore[union-attr]
    # spelled out, not a loop over field names: beat encodes one per sent entry
    encoded = {
        "__type__": "datetime", "year": dt.year, "month": dt.month, "day": dt.day,
        "hour": dt.hour, "minute": dt.minute, "second": dt.second,
        "microsecond": dt.microsecond, "timezone": zone,
    }  # fmt: skip
    if dt.fold:
        encoded["fold"] = 1  # the second 01:30 of a night when clocks go back
    return encoded


def _encode_interval(value: schedule) -> dict[str, Any]:
    every = value.run_every.total_seconds()
    return {"__type__": "interval", "every": every, "relative": bool(value.relative)}


def _encode_crontab(value: Any) -> dict[str, Any]:
    plain: dict[str, Any] = {"__type__": "crontab"}
    for field in CRONTAB_FIELDS:
        given = getattr(value, "_orig_" + field)
        # Celery takes sets ({0, 30}); JSON has lists, which both crontabs read the same way
        plain[field] = sorted(given) if isinstance(given, (set, frozenset)) else given
    return _zoned(getattr(value, "timezone", None), plain)


def _encode_rrule(value: rrule) -> dict[str, Any]:
    plain: dict[str, Any] = {"__type__": "rrule", "freq": value.freq}
    plain.update({f: getattr(value, f) for f in RRULE_LIST_FIELDS})
    for field in ("dtstart", "until"):
        moment = getattr(value, field)
        if moment:
            plain[field] = to_timestamp(moment)
            plain[field + "_tz"] = _offset_minutes(moment)
    return _zoned(value.timezone, plain)


def _encode_weekday(value: weekday) -> dict[str, Any]:
    # celery-redbeat drops n (+1MO becomes every Monday); its decoder calls weekday(**fields),
    # whose arguments are (wkday, n), so it reads n back when it is there
    encoded: dict[str, Any] = {"__type__": "weekday", "wkday": value.weekday}
    if value.n is not None:
        encoded["n"] = value.n
    return encoded


def _encode_solar(value: solar) -> dict[str, Any]:
    return {"__type__": "solar", "event": value.event, "lat": value.lat, "lon": value.lon}


def _encode_oneoff(value: oneoff) -> dict[str, Any]:
    return {"__type__": "oneoff", "run_at": value.run_at}


def _zoned(zone: str | None, plain: dict[str, Any]) -> dict[str, Any]:
    if zone is None:
        return plain
    return {"__type__": "zoned", "timezone": zone, "schedule": plain}


#: type -> encoder; the first match wins, so subclasses come before their bases.
ENCODERS: list[tuple[type, Callable[[Any], Any]]] = [
    (datetime, _encode_datetime),
    (celery_crontab, _encode_crontab),
    (rrule, _encode_rrule),
    (oneoff, _encode_oneoff),
    (solar, _encode_solar),
    (weekday, _encode_weekday),
    (schedule, _encode_interval),
]


class RedBeatJSONEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        for kind, encode in ENCODERS:
            if isinstance(o, kind):
                return encode(o)
        raise EncodeError(f"{type(o).__name__} values cannot be stored as JSON: {o!r}")


# ---- decoding --------------------------------------------------------------------------------


def _decode_datetime(d: dict[str, Any]) -> datetime:
    zone = d.pop("timezone", "UTC")
    if isinstance(zone, (int, float)):
        tz: tzinfo = timezone(timedelta(seconds=zone))
    else:
        tz = get_zone(zone)  # type: ignore[assignment]
    return datetime(tzinfo=tz, **d)


def _check_fields(d: dict[str, Any], allowed: Any) -> None:
    # celery-redbeat passes every field to the constructor: an extra one (or "app", "nowfun",
    # "timezone", which the constructors take) must not slip through as an argument
    extra = sorted(set(d) - set(allowed))
    if extra:
        raise ValueError(f"unexpected field(s) {', '.join(map(repr, extra))}")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return value


def _decode_interval(d: dict[str, Any]) -> schedule:
    if not isinstance(d["relative"], bool):
        raise ValueError(f"relative must be true or false, not {d['relative']!r}")
    return schedule(run_every=_number(d["every"], "every"), relative=d["relative"])


def _decode_crontab(d: dict[str, Any]) -> crontab:
    _check_fields(d, CRONTAB_FIELDS)
    return crontab(**d)


def _decode_weekday(d: dict[str, Any]) -> weekday:
    _check_fields(d, ("wkday", "n"))
    day, n = d["wkday"], d.get("n")
    if type(day) is not int or not 0 <= day <= 6:
        raise ValueError(f"wkday must be 0 (Monday) to 6, not {day!r}")
    if n is not None and type(n) is not int:
        raise ValueError(f"n must be an integer, not {n!r}")
    return weekday(day, n)


def _decode_rrule(d: dict[str, Any]) -> rrule:
    _check_fields(d, RRULE_FIELDS.union(RRULE_LIST_FIELDS))
    if d.get("dtstart") is None:
        # without it the rule would start again at every load
        raise ValueError("dtstart is missing")
    for field in ("dtstart", "until"):
        minutes = d.pop(field + "_tz", 0)
        if d.get(field) is not None:
            d[field] = from_timestamp(d[field], minutes)
    return rrule(**d)


def _decode_zoned(d: dict[str, Any]) -> Any:
    inner, zone = d["schedule"], d["timezone"]
    if not isinstance(inner, (crontab, rrule)):
        raise ValueError(f"a zoned schedule must hold a crontab or an rrule, not {inner!r}")
    if not isinstance(zone, str):
        raise ValueError(f"timezone must be an IANA name, not {zone!r}")
    return inner.with_timezone(zone)


DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "datetime": _decode_datetime,
    "interval": _decode_interval,
    "crontab": _decode_crontab,
    "weekday": _decode_weekday,
    "rrule": _decode_rrule,
    "zoned": _decode_zoned,
    "solar": lambda d: solar(d["event"], _number(d["lat"], "lat"), _number(d["lon"], "lon")),
    "oneoff": lambda d: oneoff(d["run_at"]),
}


class RedBeatJSONDecoder(json.JSONDecoder):
    """Decodes RedBeat JSON; anything it cannot read raises :class:`DecodeError`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, object_hook=self.dict_to_object, **kwargs)

    def dict_to_object(self, d: dict[str, Any]) -> Any:
        if "__type__" not in d:
            return d
        kind = d.pop("__type__")
        decode = DECODERS.get(kind) if isinstance(kind, str) else None
        if decode is None:
            raise DecodeError(f"unknown __type__ {kind!r}")
        try:
            return decode(d)
        except DecodeError:
            raise
        except KeyError as exc:
            raise DecodeError(f"invalid {kind}: field {exc} is missing") from exc
        except (TypeError, ValueError, OverflowError) as exc:
            raise DecodeError(f"invalid {kind}: {exc}") from exc

    def decode(self, s: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            return super().decode(s, *args, **kwargs)
        except DecodeError:
            raise
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise DecodeError(f"not JSON: {exc}") from exc


# One of each, shared: json.dumps/loads with ``cls=`` build a new one per call, which costs
# beat as much as the decoding itself. Both keep no state between calls.
_ENCODER = RedBeatJSONEncoder()
_DECODER = RedBeatJSONDecoder()


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def loads(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode()
        except UnicodeDecodeError as exc:
            raise DecodeError(f"not JSON: {exc}") from exc
    return _DECODER.decode(text)
