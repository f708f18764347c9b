"""The run policy fields of a PeriodicTask <-> the RunPolicy its entry gets.

Each RunPolicy name (beat/run_policy.py) is a model field of the same name, whose default is the
policy's: a row left at the defaults gives the default policy, and its entry is written exactly
as one without policies. ``start_time`` is an rrule's DTSTART, which is a start bound by itself:
it is the policy's start bound for the other kinds only.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from django_redbeat.beat.run_policy import DEFAULT, NAMES, PolicyError, RunPolicy

#: The policy names (each a PeriodicTask field: a test checks it).
POLICY_FIELDS = NAMES


def run_policy(task: Any) -> RunPolicy:
    """The policy the row describes (PolicyError names a bad field).

    A row saved before the policies had fields of their own may still name some in its
    ``extra_options`` (one the migration could not move): those count where the field is at
    its default.
    """
    legacy, _options = RunPolicy.split_options(_legacy_options(task))
    changed = {
        name: value
        for name in NAMES
        if (value := _value(task, name, bound_only=True)) != getattr(DEFAULT, name)
    }
    return legacy.with_changes(**changed) if changed else legacy


def errors(task: Any) -> dict[str, str]:
    """Field name -> message for the first bad policy field (empty when the policy is valid);
    an rrule's start_time counts here, so an end time before it is refused too."""
    try:
        RunPolicy(**{name: _value(task, name, bound_only=False) for name in NAMES})
    except PolicyError as exc:
        field = exc.field if exc.field in NAMES else "__all__"
        message = str(exc).removeprefix(f"{exc.field}: ")
        return {field: _("Invalid run policy: %(error)s") % {"error": message}}
    except TypeError as exc:  # a value of a field that failed its own validation
        return {"__all__": str(exc)}
    return {}


def _value(task: Any, name: str, bound_only: bool) -> Any:
    # a policy without its field yet is at its default (and test_model_policies fails)
    value = getattr(task, name, getattr(DEFAULT, name))
    if name == "start_time" and bound_only and task.kind == "rrule":
        return None  # the rule's DTSTART: no run before it already
    if isinstance(value, float) and value.is_integer():
        return int(value)  # as a number in beat_schedule's options is written: 5, not 5.0
    return value


def _legacy_options(task: Any) -> dict[str, Any]:
    extra = task.extra_options if isinstance(task.extra_options, dict) else {}
    return {name: extra[name] for name in NAMES if name in extra}
