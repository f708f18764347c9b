"""A beat_schedule entry's ``options`` -> the model's option and run policy fields.

The options with a field of their own (queue, exchange, ..., expires) and the run policy names
(beat/run_policy.py) go to their fields; any other option goes to ``extra_options``, and is
passed to ``apply_async`` as it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from django_redbeat.beat.run_policy import PolicyError, RunPolicy
from django_redbeat.importing.rows import EntryError
from django_redbeat.models import NAMED_OPTIONS, POLICY_FIELDS, PeriodicTask

_FLOAT_FIELDS = {
    name for name in POLICY_FIELDS
    if isinstance(PeriodicTask._meta.get_field(name), models.FloatField)
}  # fmt: skip


def option_fields(options: Any) -> dict[str, Any]:
    """The model's option and run policy fields for an entry's ``options`` (EntryError for
    unknown options or a bad policy)."""
    if not isinstance(options, dict):
        raise EntryError(f"'options' must be a dict, not {type(options).__name__}")
    fields = {name: options[name] for name in NAMED_OPTIONS - {"expires"} if name in options}
    fields.update(_policy_fields(options))
    fields["extra_options"] = {
        k: v for k, v in options.items() if k not in NAMED_OPTIONS and k not in POLICY_FIELDS
    }  # fmt: skip
    expires = options.get("expires")
    if isinstance(expires, datetime):
        fields["expires"] = expires if timezone.is_aware(expires) else timezone.make_aware(expires)
    elif expires is not None:
        fields["expire_seconds"] = _whole_seconds(expires)
    return fields


def _policy_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The run policy fields the options name, as RunPolicy reads them (ISO times parsed)."""
    named = {name: options[name] for name in POLICY_FIELDS if name in options}
    if not named:
        return {}
    try:
        policy = RunPolicy.from_json(named)
    except PolicyError as exc:
        raise EntryError(f"option {exc}") from None
    # as the database gives them back (a float field's 5 is 5.0): the row's version is the same
    fields = {name: getattr(policy, name) for name in named}
    for name in _FLOAT_FIELDS & fields.keys():
        if fields[name] is not None:
            fields[name] = float(fields[name])
    return fields


def _whole_seconds(value: Any) -> int:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise EntryError(f"option expires: {value!r} is not a time or a whole number of seconds")
    return int(value)
