"""The rows an import makes from beat_schedule entries, and how they are checked.

A row is made from the values an entry gives and the model's defaults, then checked by Django's
``full_clean`` in the fields the entry sets: once per shape of entry (see
:mod:`django_redbeat.importing.entry_shapes`), and in its own name, args and kwargs for every
entry.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

from django_redbeat.importing.entry_shapes import PER_ENTRY, Shapes, shape_of
from django_redbeat.models import PeriodicTask


class EntryError(ValueError):
    """A beat_schedule entry that cannot become a PeriodicTask; the message says why."""


_COLUMNS = PeriodicTask._meta.concrete_fields
#: Every field's name: those an entry leaves at their defaults are not validated again.
_FIELD_NAMES = frozenset(field.name for field in _COLUMNS)
_NOT_PER_ENTRY = _FIELD_NAMES - PER_ENTRY
_ATTNAMES = [field.attname for field in _COLUMNS]
_all_values = operator.attrgetter(*_ATTNAMES)
#: The defaults of the fields an entry leaves unset; those a call makes (JSON lists and
#: dicts) are made for each row, never shared.
_MADE_DEFAULTS = {
    field.attname: field.get_default
    for field in _COLUMNS
    if field.has_default() and callable(field.default)
}  # fmt: skip
_DEFAULTS = {
    field.attname: field.get_default() for field in _COLUMNS if field.attname not in _MADE_DEFAULTS
}  # fmt: skip


def new_task(given: dict[str, Any]) -> PeriodicTask:
    """A row of the given values and the defaults, made as Django makes the rows it reads
    (values by position: twice as fast as by keyword, or as setting them one by one)."""
    values = _DEFAULTS | given
    for name, make in _MADE_DEFAULTS.items():
        if name not in values:
            values[name] = make()
    return PeriodicTask(*map(values.__getitem__, _ATTNAMES))


def check(
    task: PeriodicTask, given: dict[str, Any], shapes: Shapes | None
) -> tuple[Any, ...] | None:
    """full_clean() the fields the entry sets (those left at their defaults hold valid values)
    and the whole row (clean() sees how the fields go together): most of an import's time.
    Returns the entry's shape once checked, None if it has none.

    Entries of one shape (same values but for PER_ENTRY, and same types of those) pass or fail
    those checks alike, as clean() reads the PER_ENTRY fields only for their type: once one
    has passed leaving every value as it was, the others have only their PER_ENTRY fields
    checked. One whose values cleaning changed is no example (the others would keep theirs).
    """
    shape = None if shapes is None else shape_of(given)
    if shape is not None and shape in shapes.checked:
        _raise_invalid(task.clean_fields, exclude=_NOT_PER_ENTRY)
        return shape
    before = _all_values(task)
    unset = _FIELD_NAMES - given.keys()
    _raise_invalid(
        task.full_clean, exclude=unset, validate_unique=False, validate_constraints=False
    )
    if shape is None or not all(map(operator.is_, before, _all_values(task))):
        return None
    shapes.checked.add(shape)
    return shape


def _raise_invalid(clean: Callable[..., None], **options: Any) -> None:
    try:
        clean(**options)
    except ValidationError as exc:
        problems = [
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        ]
        raise EntryError("; ".join(problems)) from None
