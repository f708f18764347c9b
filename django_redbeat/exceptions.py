"""The errors django-redbeat raises.

Every leaf also inherits the built-in or Django error that callers already catch, so code written
for celery-redbeat (which raises ``KeyError`` for a missing entry) keeps working.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class RedBeatError(Exception):
    """Base class of every django-redbeat error."""


class ConfigurationError(RedBeatError, ImproperlyConfigured):
    """A setting is missing or malformed; the message names it."""


class InvalidEntryName(RedBeatError, ValueError):
    """An entry name would collide with one of the scheduler's own keys."""


class EntryNotFound(RedBeatError, KeyError):
    """No entry is stored under this key (celery-redbeat raised ``KeyError(key)``)."""


class EncodeError(RedBeatError, TypeError):
    """A value cannot be written as RedBeat JSON."""


class DecodeError(RedBeatError, ValueError):
    """A stored entry cannot be read: bad JSON, an unknown type or an invalid schedule."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key


class LockError(RedBeatError):
    """The beat lock could not be taken, kept or released."""

    def __init__(self, message: str, lock_name: str) -> None:
        super().__init__(message)
        self.lock_name = lock_name


class LockNotOwned(LockError):
    """This process no longer holds the beat lock."""
