"""Django settings for django-redbeat, read in one place.

Each property reads the setting on every access, so ``override_settings`` works in tests.
The Celery side reads them through :func:`redbeat_overrides`, and only when Django settings are
configured: a plain Celery app (``celery beat -S ...`` without Django) never touches them.
"""

from __future__ import annotations

from typing import Any

#: Django setting name -> the celery-redbeat configuration key it overrides.
CELERY_KEYS = {
    "REDBEAT_REDIS_URL": "redbeat_redis_url",
    "REDBEAT_REDIS_OPTIONS": "redbeat_redis_options",
    "REDBEAT_REDIS_USE_SSL": "redbeat_redis_use_ssl",
    "REDBEAT_KEY_PREFIX": "redbeat_key_prefix",
    "REDBEAT_LOCK_KEY": "redbeat_lock_key",
    "REDBEAT_LOCK_TIMEOUT": "redbeat_lock_timeout",
    "REDBEAT_MAX_DUE_PER_TICK": "redbeat_max_due_per_tick",
}

_MISSING = object()


def _django_settings() -> Any | None:
    """Django's settings if Django is configured in this process, else None."""
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover - Django is a dependency
        return None
    return settings if settings.configured else None


def redbeat_overrides() -> dict[str, Any]:
    """The REDBEAT_* Django settings that are set, keyed by their celery-redbeat name."""
    settings = _django_settings()
    if settings is None:
        return {}
    found = {key: getattr(settings, name, _MISSING) for name, key in CELERY_KEYS.items()}
    return {key: value for key, value in found.items() if value is not _MISSING}
