"""Django settings for django-redbeat, read in one place.

Each property reads the setting on every access, so ``override_settings`` works in tests.
The beat side reads the settings it shares with Celery's configuration by itself
(:func:`django_redbeat.store.redbeat_config.django_overrides`), without importing Django.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_redbeat import defaults
from django_redbeat.exceptions import ConfigurationError

if TYPE_CHECKING:
    from celery import Celery


class Settings:
    """The REDBEAT_* Django settings with their defaults, read on every access.

    ``None`` for the Redis settings means "not set here": the Celery configuration decides.
    """

    def _get(self, name: str, default: Any) -> Any:
        from django.conf import settings

        return getattr(settings, name, default)

    def is_set(self, name: str) -> bool:
        """Whether the project sets ``name`` (rather than leaving it to its default)."""
        from django.conf import settings

        return hasattr(settings, name)

    @property
    def REDBEAT_REDIS_URL(self) -> str | None:
        return self._get("REDBEAT_REDIS_URL", None)

    @property
    def REDBEAT_REDIS_OPTIONS(self) -> dict[str, Any] | None:
        return self._get("REDBEAT_REDIS_OPTIONS", None)

    @property
    def REDBEAT_REDIS_USE_SSL(self) -> bool | dict[str, Any] | None:
        return self._get("REDBEAT_REDIS_USE_SSL", None)

    @property
    def REDBEAT_KEY_PREFIX(self) -> str:
        """The default is redbeat:, or {redbeat}: on Redis Cluster (see ``is_set``)."""
        return self._get("REDBEAT_KEY_PREFIX", defaults.KEY_PREFIX)

    @property
    def REDBEAT_LOCK_KEY(self) -> str | None:
        return self._get("REDBEAT_LOCK_KEY", None)

    @property
    def REDBEAT_LOCK_TIMEOUT(self) -> float:
        return self._get("REDBEAT_LOCK_TIMEOUT", defaults.LOCK_TIMEOUT)

    @property
    def REDBEAT_LOCK_RENEWAL_INTERVAL(self) -> float | None:
        """None: a third of REDBEAT_LOCK_TIMEOUT."""
        return self._get("REDBEAT_LOCK_RENEWAL_INTERVAL", None)

    @property
    def REDBEAT_SEND_RETRY_WINDOW(self) -> float:
        return self._get("REDBEAT_SEND_RETRY_WINDOW", defaults.SEND_RETRY_WINDOW)

    @property
    def REDBEAT_STANDBY_GRACE(self) -> float:
        return self._get("REDBEAT_STANDBY_GRACE", defaults.STANDBY_GRACE)

    @property
    def REDBEAT_MAX_DUE_PER_TICK(self) -> int:
        return self._get("REDBEAT_MAX_DUE_PER_TICK", defaults.MAX_DUE_PER_TICK)

    @property
    def REDBEAT_HISTORY_LENGTH(self) -> int:
        return self._get("REDBEAT_HISTORY_LENGTH", defaults.HISTORY_LENGTH)

    @property
    def REDBEAT_WORKER_HOOK(self) -> bool:
        return self._get("REDBEAT_WORKER_HOOK", defaults.WORKER_HOOK)

    @property
    def REDBEAT_CELERY_APP(self) -> str | None:
        return self._get("REDBEAT_CELERY_APP", defaults.CELERY_APP)

    def celery_app(self) -> Celery:
        """The Celery app named by REDBEAT_CELERY_APP, else Celery's current app."""
        path = self.REDBEAT_CELERY_APP
        if path is None:
            from celery import current_app

            return current_app._get_current_object()  # type: ignore[attr-defined]
        from django.utils.module_loading import import_string

        try:
            return import_string(path)
        except ImportError as exc:
            raise ConfigurationError(
                f"REDBEAT_CELERY_APP = {path!r} cannot be imported ({exc}): set it to the "
                "dotted path of your Celery app, e.g. 'proj.celery.app'."
            ) from exc


conf = Settings()
