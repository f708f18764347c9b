"""RedBeatConfig: the scheduler's configuration, read from the Celery app and Django settings.

Keys keep celery-redbeat's names (``redbeat_redis_url``, ``redbeat_key_prefix``, ...). A REDBEAT_*
Django setting, when Django is configured, wins over the Celery key of the same meaning.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

from celery import Celery
from celery.app import app_or_default

from django_redbeat import defaults
from django_redbeat.exceptions import ConfigurationError
from django_redbeat.store import keys, redis_urls

logger = logging.getLogger("celery.beat")

_MISSING = object()

#: Django setting name -> the celery-redbeat configuration key it overrides.
CELERY_KEYS = {
    "REDBEAT_REDIS_URL": "redbeat_redis_url",
    "REDBEAT_REDIS_OPTIONS": "redbeat_redis_options",
    "REDBEAT_REDIS_USE_SSL": "redbeat_redis_use_ssl",
    "REDBEAT_KEY_PREFIX": "redbeat_key_prefix",
    "REDBEAT_LOCK_KEY": "redbeat_lock_key",
    "REDBEAT_LOCK_TIMEOUT": "redbeat_lock_timeout",
    "REDBEAT_MAX_DUE_PER_TICK": "redbeat_max_due_per_tick",
    "REDBEAT_LOCK_RENEWAL_INTERVAL": "redbeat_lock_renewal_interval",
    "REDBEAT_SEND_RETRY_WINDOW": "redbeat_send_retry_window",
    "REDBEAT_METRICS_PORT": "redbeat_metrics_port",
    "REDBEAT_METRICS_ADDRESS": "redbeat_metrics_address",
    "REDBEAT_METRICS_ENTRY_LABELS": "redbeat_metrics_entry_labels",
    "REDBEAT_STANDBY_GRACE": "redbeat_standby_grace",
    "REDBEAT_HISTORY_LENGTH": "redbeat_history_length",
}


def _django_settings() -> Any | None:
    """Django's settings if Django is configured in this process, else None.

    Looked up in ``sys.modules`` rather than imported: settings can only be configured once
    ``django.conf`` is imported, and a plain Celery beat must not load Django at all.
    """
    module = sys.modules.get("django.conf")
    if module is None:
        return None
    return module.settings if module.settings.configured else None


def django_overrides() -> dict[str, Any]:
    """The REDBEAT_* Django settings that are set, keyed by their celery-redbeat name."""
    settings = _django_settings()
    if settings is None:
        return {}
    found = {key: getattr(settings, name, _MISSING) for name, key in CELERY_KEYS.items()}
    return {key: value for key, value in found.items() if value is not _MISSING}


class RedBeatConfig:
    def __init__(self, app: Celery | None = None) -> None:
        self.app = app_or_default(app)
        self._overrides = django_overrides()
        # read first: Celery loses defaults added by conf.add_defaults once a missing key
        # was read (celery-redbeat's own tests set the prefix that way)
        prefix = self.either_or("redbeat_key_prefix", _MISSING)
        self.redis_url: str = self._redis_url()
        self.redis_use_ssl = self.either_or(
            "redbeat_redis_use_ssl", self.app.conf.get("broker_use_ssl")
        )
        self.redbeat_redis_options: dict[str, Any] = self._redis_options()
        cluster = redis_urls.is_cluster(self.redis_url, self.redbeat_redis_options)
        default_prefix = defaults.CLUSTER_KEY_PREFIX if cluster else defaults.KEY_PREFIX
        self.key_prefix: str = default_prefix if prefix is _MISSING else prefix
        self.schedule_key = keys.schedule_key(self.key_prefix)
        self.statics_key = keys.statics_key(self.key_prefix)
        lock_key = self.either_or("redbeat_lock_key", _MISSING)
        self.lock_key: str | None = (
            None if lock_key is None else keys.lock_key(self.key_prefix, _or_none(lock_key))
        )
        # as celery-redbeat: only what is configured (None otherwise); the scheduler and the
        # retries use effective_lock_timeout
        self.lock_timeout: float | None = self._positive("redbeat_lock_timeout", None)
        self.lock_renewal_interval = self._positive(
            "redbeat_lock_renewal_interval",
            self.effective_lock_timeout * defaults.LOCK_RENEWAL_FRACTION,
        )
        if self.lock_renewal_interval >= self.effective_lock_timeout:
            raise ConfigurationError(
                f"redbeat_lock_renewal_interval ({self.lock_renewal_interval:g} s) must be "
                f"shorter than redbeat_lock_timeout ({self.effective_lock_timeout:g} s), or the "
                "lock expires between renewals. Renew every third of the timeout or more often."
            )
        self.max_due_per_tick = int(
            self._positive("redbeat_max_due_per_tick", defaults.MAX_DUE_PER_TICK)
        )
        self.send_retry_window = self._positive(
            "redbeat_send_retry_window", defaults.SEND_RETRY_WINDOW
        )
        self.metrics_port: int | None = self._port("redbeat_metrics_port")
        self.metrics_address: str = self.either_or(
            "redbeat_metrics_address", defaults.METRICS_ADDRESS
        )
        self.metrics_entry_labels = int(
            self._positive("redbeat_metrics_entry_labels", defaults.METRICS_ENTRY_LABELS)
        )
        self.standby_grace = self._positive("redbeat_standby_grace", defaults.STANDBY_GRACE)
        self.history_length = self._count("redbeat_history_length", defaults.HISTORY_LENGTH)

    @property
    def effective_lock_timeout(self) -> float:
        """The lock's TTL in seconds: as configured, else the default (30 s)."""
        return self.lock_timeout or defaults.LOCK_TIMEOUT

    @property
    def schedule(self) -> dict[str, Any]:
        return self.app.conf.beat_schedule

    @schedule.setter
    def schedule(self, value: dict[str, Any]) -> None:
        self.app.conf.beat_schedule = value

    def is_key_in_conf(self, name: str) -> bool:
        return self._lookup(name) is not _MISSING

    def either_or(self, name: str, default: Any = None) -> Any:
        """The value of ``name`` if it is configured (even to None), else ``default``."""
        if name == name.upper():
            # as celery-redbeat: Celery 4+ names are lower case, and conf.get finds the old ones
            warnings.warn(
                f"Celery 4+ configuration detected Celery 3 name {name} (use {name.lower()})",
                UserWarning,
                stacklevel=2,
            )
        value = self._lookup(name)
        return default if value is _MISSING else value

    def _lookup(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        # conf.get also finds CELERY_REDBEAT_* when the app reads Django settings by namespace
        value = self.app.conf.get(name, _MISSING)
        return self.app.conf.get(name.upper(), _MISSING) if value is _MISSING else value

    def _positive(self, name: str, default: Any) -> Any:
        """A positive number setting; None (as celery-redbeat allows) means the default."""
        value = self.either_or(name)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 0.0
        if number <= 0:
            raise ConfigurationError(f"{name} must be a positive number, not {value!r}.")
        return number

    def _count(self, name: str, default: int) -> int:
        """A whole number setting, 0 or more; None means the default."""
        value = self.either_or(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(f"{name} must be a whole number, 0 or more, not {value!r}.")
        return value

    def _port(self, name: str) -> int | None:
        """A TCP port setting: None (the default) is off, 0 any free port."""
        value = self.either_or(name)
        if value is None:
            return None
        if isinstance(value, bool) or not str(value).isdigit() or int(value) > 65535:
            raise ConfigurationError(f"{name} must be a port number (0-65535), not {value!r}.")
        return int(value)

    def _redis_url(self) -> str:
        url = self.either_or("redbeat_redis_url")
        if url:
            return url
        broker_url = self.app.conf.get("broker_url")
        if not broker_url:
            raise ConfigurationError(
                "No Redis URL: set REDBEAT_REDIS_URL in your Django settings or "
                "redbeat_redis_url in your Celery configuration."
            )
        _deprecated("django-redbeat falls back to broker_url: set redbeat_redis_url explicitly")
        return broker_url

    def _redis_options(self) -> dict[str, Any]:
        options = self.either_or("redbeat_redis_options", _MISSING)
        if options is _MISSING:
            # broker_transport_options belong to the broker: get_redis reads only
            # the keys django-redbeat itself understands from them
            options = self.app.conf.get("broker_transport_options") or {}
            if options:
                _deprecated(
                    "django-redbeat falls back to broker_transport_options: set "
                    "redbeat_redis_options explicitly"
                )
        if not isinstance(options, dict):
            raise ConfigurationError(
                f"redbeat_redis_options (REDBEAT_REDIS_OPTIONS) must be a dict, not {options!r}."
            )
        return dict(options)


def _deprecated(message: str) -> None:
    # as celery-redbeat 2.4: still used, but said out loud (beat runs as a daemon, where a
    # DeprecationWarning alone goes unseen)
    warnings.warn(message, DeprecationWarning, stacklevel=4)
    logger.warning("beat: %s", message)


def ensure_conf(app: Celery | None = None) -> RedBeatConfig:
    """The app's RedBeatConfig, created once and cached as ``app.redbeat_conf``."""
    app = app_or_default(app)
    config = getattr(app, "redbeat_conf", None)
    if config is None:
        config = RedBeatConfig(app)
        app.redbeat_conf = config
    return config


def _or_none(value: Any) -> str | None:
    return None if value is _MISSING else value
