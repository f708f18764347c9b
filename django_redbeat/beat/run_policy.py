"""RunPolicy: which runs of an entry happen (catch-up, overlap, jitter, bounds, max runs, pause).

Every field's default is today's behaviour, so an entry without policies is stored exactly as
celery-redbeat 2.4 stores it: the policy goes in its own hash field (:data:`POLICY_FIELD`, which
celery-redbeat never reads), written only when some field is not the default, as a JSON object
of those fields alone. The same names are accepted in an entry's ``options`` (a
``CELERY_BEAT_SCHEDULE`` entry, ``redbeat_import``), where they are taken out of what is passed
to ``apply_async``.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from django_redbeat.exceptions import RedBeatError

#: The entry hash field that holds a non-default policy (absent for the default one).
POLICY_FIELD = "policy"

OVERLAP_MODES = ("allow", "skip", "buffer_one")
#: What becomes of the slots an entry passed unsent (catch_up.py): "latest" sends the newest
#: inside the window once, "all" each inside it, "none" none of them.
CATCH_UP_MODES = ("latest", "all", "none")


class PolicyError(RedBeatError, ValueError):
    """A run policy field has a bad value; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class RunPolicy:
    #: The slots passed unsent (beat down, Redis away, the entry disabled): see CATCH_UP_MODES.
    catch_up: str = "latest"
    #: Seconds after its time past which a slot is missed, not sent; None: one period of the
    #: schedule, and never under a minute (catch_up.py).
    catch_up_window: float | None = None
    #: Under "all", the most slots sent to catch up (the newest); older ones are missed.
    catch_up_limit: int = 10
    #: While the previous run has not finished: "allow" send anyway, "skip" do not send,
    #: "buffer_one" send once it finishes.
    overlap: str = "allow"
    #: Seconds after which a run not reported finished no longer counts as running.
    overlap_timeout: float = 3600
    #: Up to this many seconds added to each slot, the same for a given (entry, slot) on
    #: every beat.
    jitter: float = 0
    start_time: datetime | None = None  # no slot before it
    end_time: datetime | None = None  # no slot after it
    max_runs: int | None = None  # stop after this many runs (the entry's total_run_count)
    pause_after_failures: int | None = None  # pause after this many failed runs in a row

    def __post_init__(self) -> None:
        _choice("catch_up", self.catch_up, CATCH_UP_MODES)
        if self.catch_up_window is not None:
            _seconds("catch_up_window", self.catch_up_window, positive=True, least=1)
        _count("catch_up_limit", self.catch_up_limit)
        _choice("overlap", self.overlap, OVERLAP_MODES)
        _seconds("overlap_timeout", self.overlap_timeout, positive=True)
        _seconds("jitter", self.jitter, positive=False)
        for name in ("max_runs", "pause_after_failures"):
            if getattr(self, name) is not None:
                _count(name, getattr(self, name))
        for name in ("start_time", "end_time"):
            _moment(name, getattr(self, name))
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise PolicyError("end_time", "must be after start_time")

    @property
    def is_default(self) -> bool:
        return self == DEFAULT

    def to_json(self) -> dict[str, Any]:
        """The fields that are not the default, as JSON values (datetimes in ISO 8601)."""
        changed = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value != field.default:
                changed[field.name] = value.isoformat() if isinstance(value, datetime) else value
        return changed

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunPolicy:
        """A policy from :meth:`to_json`'s output; PolicyError names an unknown or bad field."""
        if not isinstance(data, Mapping):
            raise PolicyError(POLICY_FIELD, f"must be a JSON object, not {type(data).__name__}")
        unknown = set(data) - set(NAMES)
        if unknown:
            raise PolicyError(sorted(unknown)[0], "is not a run policy")
        values = {name: _parse_moment(name, data[name]) for name in data}
        return cls(**values)

    def encode(self) -> str | None:
        """The hash field's value; None for the default policy (the field is not written)."""
        if self.is_default:
            return None
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def decode(cls, stored: str | None) -> RunPolicy:
        """The policy in a hash field as stored (None or empty: the default)."""
        if not stored:
            return DEFAULT
        try:
            data = json.loads(stored)
        except ValueError as exc:
            raise PolicyError(POLICY_FIELD, f"is not JSON: {exc}") from None
        return cls.from_json(data)

    @classmethod
    def split_options(cls, options: Mapping[str, Any] | None) -> tuple[RunPolicy, dict[str, Any]]:
        """The policy named in ``options`` and the options left for ``apply_async``."""
        options = dict(options or {})
        named = {name: options.pop(name) for name in NAMES if name in options}
        return (cls.from_json(named) if named else DEFAULT), options

    def with_changes(self, **changes: Any) -> RunPolicy:
        return replace(self, **changes)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise PolicyError(name, f"must be one of {', '.join(choices)}, not {value!r}")


def _seconds(name: str, value: Any, positive: bool, least: float = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PolicyError(name, f"must be a number of seconds, not {value!r}")
    if value < least or (positive and value == 0):
        bound = f"at least {least:g}" if least else ("above 0" if positive else "at least 0")
        raise PolicyError(name, f"must be {bound}, not {value}")


def _count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PolicyError(name, f"must be a whole number of at least 1, not {value!r}")


def _moment(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, datetime):
        raise PolicyError(name, f"must be a datetime, not {value!r}")
    if value.utcoffset() is None:
        raise PolicyError(name, "must have a time zone (an aware datetime)")


def _parse_moment(name: str, value: Any) -> Any:
    if name not in ("start_time", "end_time") or not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise PolicyError(name, f"is not an ISO 8601 datetime: {value!r}") from None


DEFAULT = RunPolicy()
#: The policy names: also the ``options`` keys (and the model fields) that set them.
NAMES = tuple(field.name for field in fields(RunPolicy))
