"""Decoding an entry's stored hash fields: ``definition`` and ``meta``, as celery-redbeat
writes them; a malformed one raises DecodeError, never builds a half-read entry."""

from __future__ import annotations

from typing import Any

from celery.schedules import BaseSchedule

from django_redbeat.decoder import loads
from django_redbeat.exceptions import DecodeError

DEFINITION_FIELDS = frozenset({"name", "task", "args", "kwargs", "options", "schedule", "enabled"})


def decode_definition(definition: str) -> dict[str, Any]:
    fields = loads(definition)
    if not isinstance(fields, dict):
        raise DecodeError(f"definition must be a JSON object, not {type(fields).__name__}")
    unknown = set(fields) - DEFINITION_FIELDS
    if unknown:
        raise DecodeError(f"unknown definition field(s): {', '.join(sorted(unknown))}")
    if not isinstance(fields.get("schedule"), (BaseSchedule, int, float)):
        raise DecodeError(f"schedule is not a schedule: {fields.get('schedule')!r}")
    return fields


def decode_meta(meta: str | None, app: Any = None) -> dict[str, Any]:
    if not meta:
        return {"last_run_at": None}
    decoded = loads(meta)
    if not isinstance(decoded, dict):
        raise DecodeError(f"meta must be a JSON object, not {type(decoded).__name__}")
    return decoded
