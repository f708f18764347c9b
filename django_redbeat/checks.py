"""System checks for the REDBEAT_* settings: shape only, no network I/O (they run on every
``manage.py`` call). A Redis URL is shown with its password masked.

IDs are never reused: E001-E012, E020 (run history; E013-E019 left to the run policies), W001.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from django.core import checks

from django_redbeat.conf import conf
from django_redbeat.store import keys, redis_urls
from django_redbeat.store.plain_client import CERT_REQS
from django_redbeat.store.redis_urls import safe_url

URL_SCHEMES = tuple(f"{scheme}://" for scheme in redis_urls.SCHEMES)
MANY_HOST_SCHEMES = (f"{redis_urls.SENTINEL_SCHEME}://", f"{redis_urls.CLUSTER_SCHEME}://")
SENTINEL_PORT = redis_urls.DEFAULT_PORTS[redis_urls.SENTINEL_SCHEME]


def register() -> None:
    checks.register(check_settings)


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for check in CHECKS:
        found.extend(check())
    return found


def _error(setting: str, message: str, number: int, hint: str | None = None) -> list[Any]:
    return [checks.Error(f"{setting} {message}", hint=hint, id=f"django_redbeat.E{number:03d}")]


def _is_positive(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0


def check_redis_url() -> list[checks.CheckMessage]:
    url = conf.REDBEAT_REDIS_URL
    if url is None:
        return []
    if isinstance(url, str) and url.startswith(URL_SCHEMES):
        return _malformed_hosts(url)
    return _error(
        "REDBEAT_REDIS_URL", f"must be a Redis URL, not {safe_url(url)!r}.", 1,
        hint=f"Use one of the schemes {', '.join(URL_SCHEMES)}, e.g. redis://localhost:6379/0.",
    )  # fmt: skip


def _malformed_hosts(url: str) -> list[checks.CheckMessage]:
    if not url.startswith(MANY_HOST_SCHEMES):
        return []
    try:
        redis_urls.parse(url)
    except ValueError as exc:
        return _error(
            "REDBEAT_REDIS_URL", f"cannot be read: {exc}.", 1,
            hint="List hosts as host:port,host:port; percent-encode a password's reserved "
            "characters (urllib.parse.quote(password, safe='')).",
        )  # fmt: skip
    return []


def check_key_prefix() -> list[checks.CheckMessage]:
    prefix = conf.REDBEAT_KEY_PREFIX
    if isinstance(prefix, str) and prefix:
        return []
    return _error("REDBEAT_KEY_PREFIX", f"must be a non-empty string, not {prefix!r}.", 2)


def check_lock_key() -> list[checks.CheckMessage]:
    lock_key = conf.REDBEAT_LOCK_KEY
    if lock_key is None or (isinstance(lock_key, str) and lock_key):
        return []
    return _error(
        "REDBEAT_LOCK_KEY", f"must be a non-empty string or None, not {lock_key!r}.", 3,
        hint="Leave it unset for <prefix>:lock; set it to None to run beat without a lock.",
    )  # fmt: skip


def check_lock_timeout() -> list[checks.CheckMessage]:
    timeout = conf.REDBEAT_LOCK_TIMEOUT
    if _is_positive(timeout):
        return []
    return _error("REDBEAT_LOCK_TIMEOUT", f"must be a positive number, not {timeout!r}.", 4)


def check_redis_options() -> list[checks.CheckMessage]:
    options = conf.REDBEAT_REDIS_OPTIONS
    if options is None:
        return []
    if not isinstance(options, dict):
        return _error("REDBEAT_REDIS_OPTIONS", f"must be a dict, not {type(options).__name__}.", 5)
    period = options.get("retry_period")
    if period is None or (isinstance(period, numbers.Real) and not isinstance(period, bool)):
        return []
    return _error(
        "REDBEAT_REDIS_OPTIONS", f"['retry_period'] must be a number, not {period!r}.", 5,
        hint="Seconds to keep retrying a lost connection; a negative number retries forever.",
    )  # fmt: skip


def check_use_ssl() -> list[checks.CheckMessage]:
    use_ssl = conf.REDBEAT_REDIS_USE_SSL
    if isinstance(use_ssl, dict):
        return _check_cert_reqs(use_ssl)
    if use_ssl is None or isinstance(use_ssl, bool):
        return []
    return _error(
        "REDBEAT_REDIS_USE_SSL", f"must be True, False or a dict, not {type(use_ssl).__name__}.",
        6, hint="A dict is passed to the client as ssl_* options, e.g. {'ssl_ca_certs': path}.",
    )  # fmt: skip


def _check_cert_reqs(use_ssl: dict[str, Any]) -> list[checks.CheckMessage]:
    value = use_ssl.get("ssl_cert_reqs", use_ssl.get("cert_reqs"))
    if not isinstance(value, str) or value.strip().lower() in CERT_REQS:
        return []
    message = f"['ssl_cert_reqs'] must be 'required', 'optional' or 'none', not {value!r}."
    hint = "Or one of ssl.CERT_REQUIRED, ssl.CERT_OPTIONAL, ssl.CERT_NONE."
    return _error("REDBEAT_REDIS_USE_SSL", message, 6, hint=hint)


def check_lock_renewal_interval() -> list[checks.CheckMessage]:
    interval, timeout = conf.REDBEAT_LOCK_RENEWAL_INTERVAL, conf.REDBEAT_LOCK_TIMEOUT
    if interval is None or (_is_positive(interval) and not _is_positive(timeout)):
        return []
    if _is_positive(interval) and interval < timeout:
        return []
    return _error(
        "REDBEAT_LOCK_RENEWAL_INTERVAL",
        f"must be a positive number below REDBEAT_LOCK_TIMEOUT ({timeout!r}), not {interval!r}.",
        9, hint="Renew the lock every third of its timeout or more often; None does that.",
    )  # fmt: skip


def check_send_retry_window() -> list[checks.CheckMessage]:
    window = conf.REDBEAT_SEND_RETRY_WINDOW
    if _is_positive(window):
        return []
    return _error("REDBEAT_SEND_RETRY_WINDOW", f"must be a positive number, not {window!r}.", 10)


def check_standby_grace() -> list[checks.CheckMessage]:
    grace = conf.REDBEAT_STANDBY_GRACE
    if _is_positive(grace):
        return []
    return _error("REDBEAT_STANDBY_GRACE", f"must be a positive number, not {grace!r}.", 12)


def check_history_length() -> list[checks.CheckMessage]:
    length = conf.REDBEAT_HISTORY_LENGTH
    if isinstance(length, int) and not isinstance(length, bool) and length >= 0:
        return []
    message = f"must be a whole number, 0 or more, not {length!r}."
    return _error("REDBEAT_HISTORY_LENGTH", message, 20, hint="0 keeps no run history.")


def check_max_due_per_tick() -> list[checks.CheckMessage]:
    value = conf.REDBEAT_MAX_DUE_PER_TICK
    if _is_positive(value) and int(value) == value:
        return []
    return _error("REDBEAT_MAX_DUE_PER_TICK", f"must be a positive integer, not {value!r}.", 7)


def check_celery_app() -> list[checks.CheckMessage]:
    path = conf.REDBEAT_CELERY_APP
    if path is None or (isinstance(path, str) and path):
        return []
    return _error(
        "REDBEAT_CELERY_APP", f"must be a dotted path or None, not {path!r}.", 8,
        hint="e.g. 'proj.celery.app'; leave it unset to use Celery's current app.",
    )  # fmt: skip


def check_cluster_prefix() -> list[checks.CheckMessage]:
    cluster = redis_urls.is_cluster(conf.REDBEAT_REDIS_URL, conf.REDBEAT_REDIS_OPTIONS)
    prefix = conf.REDBEAT_KEY_PREFIX
    if not cluster or not conf.is_set("REDBEAT_KEY_PREFIX"):
        return []  # the default on a cluster has a hash tag
    if not isinstance(prefix, str) or keys.hash_tag(prefix) is not None:
        return []
    message = (
        f"REDBEAT_KEY_PREFIX {prefix!r} has no hash tag, but Redis Cluster is used: an entry's "
        "keys and the schedule would land in different slots, so beat refuses to start."
    )
    hint = "Put a non-empty hash tag in the prefix, e.g. REDBEAT_KEY_PREFIX = '{redbeat}:'."
    return [checks.Warning(message, hint=hint, id="django_redbeat.W001")]


def check_sentinels() -> list[checks.CheckMessage]:
    url, options = conf.REDBEAT_REDIS_URL, conf.REDBEAT_REDIS_OPTIONS
    options = options if isinstance(options, dict) else {}
    from_url = isinstance(url, str) and url.startswith(MANY_HOST_SCHEMES[0])
    if not from_url and not options.get("sentinels"):
        return []
    try:
        nodes = redis_urls.node_list(options.get("sentinels"), SENTINEL_PORT, "['sentinels']")
        if not nodes and from_url:
            nodes = redis_urls.parse(url).hosts
    except (TypeError, ValueError) as exc:
        return _error("REDBEAT_REDIS_OPTIONS", f"{exc}.", 11, hint=SENTINEL_HINT)
    if nodes:
        return []
    return _error("REDBEAT_REDIS_URL", "names no sentinel to ask.", 11, hint=SENTINEL_HINT)


SENTINEL_HINT = (
    "e.g. REDBEAT_REDIS_URL = 'redis-sentinel://s1:26379,s2:26379,s3:26379/0?service_name="
    "mymaster', or REDBEAT_REDIS_OPTIONS = {'sentinels': [('s1', 26379), ...], "
    "'service_name': 'mymaster'}."
)

CHECKS: list[Callable[[], list[checks.CheckMessage]]] = [
    check_redis_url, check_key_prefix, check_lock_key, check_lock_timeout, check_redis_options,
    check_lock_renewal_interval, check_send_retry_window, check_standby_grace, check_use_ssl,
    check_max_due_per_tick, check_celery_app, check_cluster_prefix, check_sentinels,
    check_history_length,
]  # fmt: skip
