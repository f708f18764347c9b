"""An imported row's digest, and the shapes of entries that let an import do its work once.

Each row ``redbeat_import`` writes keeps the digest of the fields it was given
(``source_digest``): a later import tells by it whether the row was edited since. The entries of
a CELERY_BEAT_SCHEDULE mostly differ in their name and arguments only (same task, schedule and
options): these make an entry's *shape*, and an import checks each shape once, and encodes its
part of the digest once (:mod:`django_redbeat.importing.rows`,
:mod:`django_redbeat.importing.importer`).
"""

from __future__ import annotations

import hashlib
import json
import operator
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db import models
from django.utils import timezone

from django_redbeat.models import PAUSE_FIELDS, POLICY_FIELDS, PeriodicTask
from django_redbeat.sync.row_versions import ENTRY_FIELDS

#: The fields an import writes, and that its digest covers: every field the entry is built from
#: but its name (the row's key) and a pause (a person's, or the worker's); a description is the
#: user's own.
IMPORTED_FIELDS = tuple(name for name in ENTRY_FIELDS if name not in ("name", *PAUSE_FIELDS))
#: The run policy fields that joined the digest later: left out of it at their defaults, so a
#: row imported before keeps its digest.
_OMITTED_AT_DEFAULT = {
    name: PeriodicTask._meta.get_field(name).get_default()
    for name in POLICY_FIELDS if name in IMPORTED_FIELDS and name != "start_time"
}  # fmt: skip
#: The fields whose values differ from entry to entry; the others' values (and these fields'
#: types) make an entry's shape.
PER_ENTRY = frozenset({"name", "args", "kwargs"})
#: The imported fields that hold a time (the digest writes them in UTC).
_TIME_FIELDS = [
    name for name in IMPORTED_FIELDS
    if isinstance(PeriodicTask._meta.get_field(name), models.DateTimeField)
]  # fmt: skip
_imported_values = operator.attrgetter(*IMPORTED_FIELDS)
#: One encoder for every digest (json.dumps given options makes a new one per call).
_DIGEST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
#: The digest's text is the fields by name in this order: args first, kwargs among the others.
_SORTED = sorted(IMPORTED_FIELDS)
_BETWEEN = [name for name in _SORTED if "args" < name < "kwargs"]
_AFTER = [name for name in _SORTED if name > "kwargs"]


def digest(task: PeriodicTask) -> str:
    """SHA-256 of the imported fields' values, as the database holds them (a built row's
    fields are cleaned or at their defaults: they have the types a row read back has)."""
    return _sha256(_DIGEST_JSON.encode(_digest_values(task)))


def shape_of(given: dict[str, Any]) -> tuple[Any, ...] | None:
    """The shape of an entry's given field values (None when they cannot be compared so)."""
    shape = tuple((name, _frozen(value)) for name, value in given.items() if name not in PER_ENTRY)
    try:
        hash(shape)
    except TypeError:
        return None
    return (*shape, type(given["args"]), type(given["kwargs"]))


class Shapes:
    """The shapes an import has checked (``checked``: their entries pass the same checks), and
    the digests' parts of their rows. A row of a checked shape holds the values given, defaults,
    and (set after the check) start_time and one_off: all but its arguments are encoded once
    for each shape and these two values."""

    def __init__(self) -> None:
        self.checked: set[tuple[Any, ...]] = set()
        self._parts: dict[tuple[Any, ...], tuple[str, str, str]] = {}

    def digest(self, task: PeriodicTask, shape: tuple[Any, ...]) -> str:
        """digest(task), for a row of a checked shape."""
        key = (shape, task.start_time, task.one_off)
        parts = self._parts.get(key)
        if parts is None:
            self._parts[key] = parts = _parts(_digest_values(task))
        head, between, after = parts
        args, kwargs = _DIGEST_JSON.encode(task.args), _DIGEST_JSON.encode(task.kwargs)
        return _sha256(f"{head}{args}{between}{kwargs}{after}")


def _parts(values: dict[str, Any]) -> tuple[str, str, str]:
    # the text of a dict is its items' in order, between braces: here cut around the arguments
    between = _DIGEST_JSON.encode({name: values[name] for name in _BETWEEN if name in values})
    after = _DIGEST_JSON.encode({name: values[name] for name in _AFTER if name in values})
    between, after = between[1:-1], after[1:-1]
    return '{"args":', f',{between},"kwargs":', f",{after}}}"


def _digest_values(task: PeriodicTask) -> dict[str, Any]:
    values = dict(zip(IMPORTED_FIELDS, _imported_values(task), strict=True))
    for name in _TIME_FIELDS:
        values[name] = _utc_text(values[name])
    for name, default in _OMITTED_AT_DEFAULT.items():
        if values[name] == default:
            del values[name]
    return values


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _frozen(value: Any) -> Any:
    # with its type: 1, 1.0 and True are equal but not checked alike; a float by its text
    # (-0.0 == 0.0), a moment with its zone
    kind = type(value)
    if kind is dict:
        return kind, tuple((key, _frozen(item)) for key, item in value.items())
    if kind is list or kind is tuple:
        return kind, tuple(map(_frozen, value))
    if kind is float:
        return kind, repr(value)
    return kind, value, value.tzinfo if isinstance(value, datetime) else None


def _utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if timezone.is_aware(value) else timezone.make_aware(value)
    return aware.astimezone(dt_timezone.utc).isoformat()
