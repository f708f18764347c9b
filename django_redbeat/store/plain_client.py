"""The plain redis-py client for a configuration: one server, TLS, Sentinel or Cluster.

Which one is chosen by the URL's scheme or the options:

- ``redis://``, ``rediss://`` (TLS), ``unix://``: one server.
- ``redis-sentinel://`` or a ``sentinels`` option: the master that the sentinels name, through one
  connection pool that asks them again after a failover (no client built per call).
- ``redis-cluster://``, or a ``cluster`` option with a ``redis://``/``rediss://`` URL: Redis
  Cluster. The key prefix must carry a hash tag (``{redbeat}:``, the default there), so that
  every key beat writes in one command or script lands in one slot; any other prefix is refused
  here, at start.

TLS is on for ``rediss://``, and for Sentinel and Cluster when ``redbeat_redis_use_ssl`` is set
(celery-redbeat's rule); certificates are then required unless ``ssl_cert_reqs`` says otherwise.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

import redis
from kombu.utils.imports import symbol_by_name
from redis.backoff import NoBackoff
from redis.credentials import CredentialProvider
from redis.retry import Retry

from django_redbeat.exceptions import ConfigurationError
from django_redbeat.store import keys, permissions, redis_urls
from django_redbeat.store.redbeat_config import RedBeatConfig

logger = logging.getLogger("celery.beat")

#: Options django-redbeat reads itself; they are never passed on to the redis client.
INTERNAL_OPTIONS = frozenset(
    {"retry_period", "cluster", "sentinels", "service_name", "sentinel_kwargs", "startup_nodes"}
)
DEFAULT_SERVICE_NAME = "master"  # celery-redbeat's default
CONNECT_TIMEOUT = 5.0

#: ``ssl_cert_reqs`` as words (settings files, URLs) -> ssl's constants.
CERT_REQS = {
    "none": ssl.CERT_NONE, "cert_none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL, "cert_optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED, "cert_required": ssl.CERT_REQUIRED,
}  # fmt: skip
#: kombu's unprefixed TLS option names (``broker_use_ssl`` for AMQP) -> redis-py's.
SSL_ALIASES = {"cert_reqs": "ssl_cert_reqs", "ca_certs": "ssl_ca_certs",
               "certfile": "ssl_certfile", "keyfile": "ssl_keyfile"}  # fmt: skip


#: What a Sentinel deployment's client takes from inherited broker_transport_options.
SENTINEL_INHERITED = frozenset(
    {"socket_timeout", "password", "username", "db", "credential_provider"}
)


def is_cluster(conf: RedBeatConfig) -> bool:
    return redis_urls.is_cluster(conf.redis_url, conf.redbeat_redis_options)


def is_sentinel(conf: RedBeatConfig) -> bool:
    scheme = redis_urls.scheme_of(conf.redis_url)
    return scheme == redis_urls.SENTINEL_SCHEME or bool(
        conf.redbeat_redis_options.get("sentinels")
    )


def build(conf: RedBeatConfig) -> Any:
    """A new plain client for ``conf`` (no retries of its own: the caller wraps it)."""
    options = client_options(conf)
    try:
        if is_cluster(conf):
            return _cluster(conf, options)
        if is_sentinel(conf):
            return _sentinel(conf, options)
    except ValueError as exc:  # a malformed URL or node list
        raise ConfigurationError(
            f"{exc}. Check REDBEAT_REDIS_URL and REDBEAT_REDIS_OPTIONS."
        ) from None
    if redis_urls.scheme_of(conf.redis_url) == "rediss":
        options = {**ssl_options(conf), **options}
    return redis.Redis.from_url(conf.redis_url, **_single_server_defaults(options))


def client_options(conf: RedBeatConfig) -> dict[str, Any]:
    """The options meant for redis-py, with a credential provider resolved."""
    options = {k: v for k, v in conf.redbeat_redis_options.items() if k not in INTERNAL_OPTIONS}
    if not conf.is_key_in_conf("redbeat_redis_options"):
        options = _inherited(conf, options)
    return resolve_credentials({**options, "decode_responses": True})


def _inherited(conf: RedBeatConfig, options: dict[str, Any]) -> dict[str, Any]:
    """What the client takes from broker_transport_options, as celery-redbeat 2.4 does: a
    cluster all of them (kombu has no cluster transport, so they were written for it), a
    Sentinel deployment its credentials and time-out, a single server none (they are the
    broker's: visibility_timeout and the like)."""
    if is_cluster(conf):
        return options
    kept = {k: v for k, v in options.items() if is_sentinel(conf) and k in SENTINEL_INHERITED}
    skipped = sorted(set(options) - set(kept))
    if skipped:  # names only: a value may be a password
        logger.debug(
            "beat: not forwarding broker_transport_options to redis: %s; set "
            "redbeat_redis_options to pass options to the client", ", ".join(skipped),
        )  # fmt: skip
    return kept


def resolve_credentials(options: dict[str, Any]) -> dict[str, Any]:
    """``credential_provider`` may be an instance, or the dotted path of a class or factory
    (what a settings file or an environment variable can hold)."""
    provider = options.get("credential_provider")
    if provider is None or isinstance(provider, CredentialProvider):
        return options
    if isinstance(provider, str):
        try:
            provider = symbol_by_name(provider)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigurationError(
                f"credential_provider {options['credential_provider']!r} cannot be imported: {exc}"
            ) from None
    if callable(provider) and not isinstance(provider, CredentialProvider):
        provider = provider()
    if not isinstance(provider, CredentialProvider):
        raise ConfigurationError(
            "credential_provider must be a redis.credentials.CredentialProvider (or the dotted "
            f"path of a class or function that returns one), not {type(provider).__name__}."
        )
    return {**options, "credential_provider": provider}


def ssl_options(conf: RedBeatConfig) -> dict[str, Any]:
    """TLS options from ``redbeat_redis_use_ssl``; certificates required by default."""
    given = conf.redis_use_ssl if isinstance(conf.redis_use_ssl, dict) else {}
    found: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    for name, value in given.items():
        found[SSL_ALIASES.get(name, name)] = value
    found["ssl_cert_reqs"] = cert_reqs(found["ssl_cert_reqs"])
    return found


def cert_reqs(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return CERT_REQS[value.strip().lower()]
        except KeyError:
            raise ConfigurationError(
                f"ssl_cert_reqs must be 'required', 'optional' or 'none', not {value!r}."
            ) from None
    return value


def _tls_wanted(conf: RedBeatConfig, options: dict[str, Any]) -> bool:
    return (
        bool(conf.redis_use_ssl)
        or bool(options.get("ssl"))
        or conf.redis_url.startswith("rediss://")
    )


def _single_server_defaults(options: dict[str, Any]) -> dict[str, Any]:
    # RetryingConnection retries with its own budget; redis-py's retries would multiply it
    return {"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": CONNECT_TIMEOUT, **options}


def _sentinel(conf: RedBeatConfig, options: dict[str, Any]) -> Any:
    from redis.sentinel import Sentinel

    internal = conf.redbeat_redis_options
    parsed = _parsed(conf.redis_url, redis_urls.SENTINEL_SCHEME)
    default_port = redis_urls.DEFAULT_PORTS[redis_urls.SENTINEL_SCHEME]
    sentinels = redis_urls.node_list(internal.get("sentinels"), default_port, "sentinels")
    if not sentinels and parsed.scheme == redis_urls.SENTINEL_SCHEME:
        sentinels = parsed.hosts  # else the URL names a data node, as in celery-redbeat
    if not sentinels:
        raise ConfigurationError(
            "Redis Sentinel needs the sentinels' addresses: list them in the URL "
            "(redis-sentinel://host1:26379,host2:26379/0?service_name=mymaster) or in "
            "REDBEAT_REDIS_OPTIONS['sentinels']."
        )
    url_options = dict(parsed.options)
    service = internal.get("service_name") or url_options.pop("service_name", None)
    url_options.pop("service_name", None)
    node_options = {**options, **url_options}
    if _tls_wanted(conf, node_options):
        node_options = {**ssl_options(conf), **node_options, "ssl": True}
    sentinel_kwargs = resolve_credentials(dict(internal.get("sentinel_kwargs") or {}))
    sentinel_kwargs.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
    sentinel_kwargs.setdefault("retry", Retry(NoBackoff(), 0))  # as for the data nodes
    sentinel_kwargs.setdefault("socket_timeout", node_options.get("socket_timeout", 5.0))
    sentinel = Sentinel(
        sentinels, sentinel_kwargs=sentinel_kwargs, **_single_server_defaults(node_options)
    )
    # one client whose pool follows the current master, not a new client per call
    return sentinel.master_for(service or DEFAULT_SERVICE_NAME)


def _cluster(conf: RedBeatConfig, options: dict[str, Any]) -> Any:
    from redis.cluster import ClusterNode, RedisCluster
    from redis.exceptions import RedisClusterException

    refuse_untagged_prefix(conf.key_prefix)
    refuse_redis_py_without_cluster_transactions()
    parsed = _parsed(conf.redis_url, redis_urls.CLUSTER_SCHEME)
    internal = conf.redbeat_redis_options
    nodes = parsed.hosts + redis_urls.node_list(
        internal.get("startup_nodes"), 6379, "startup_nodes"
    )
    if not nodes:
        raise ConfigurationError(
            "Redis Cluster needs at least one node: redis-cluster://host:port or "
            "REDBEAT_REDIS_OPTIONS['startup_nodes']."
        )
    node_options = {"socket_connect_timeout": CONNECT_TIMEOUT, **options, **parsed.options}
    node_options.pop("db", None)  # a cluster has database 0 only
    if _tls_wanted(conf, node_options):
        node_options = {**ssl_options(conf), **node_options, "ssl": True}
    try:
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in nodes], **node_options
        )
    except RedisClusterException as exc:
        if "not enabled" in str(exc):  # "Cluster mode is not enabled on this node"
            raise ConfigurationError(
                f"{exc}: {redis_urls.safe_url(conf.redis_url)} is one server, not a cluster "
                "(use a redis:// URL without the cluster option), or its ACL user may not run "
                f"CLUSTER SLOTS (grant {permissions.CLUSTER_ACL_COMMANDS})."
            ) from None
        # no node answered: an outage, retried like any connection error
        raise redis.exceptions.ConnectionError(str(exc)) from exc


#: redis-py runs MULTI/EXEC on a cluster pipeline from this version on (older ones refuse).
CLUSTER_TRANSACTIONS_SINCE = (6, 1)


def refuse_redis_py_without_cluster_transactions() -> None:
    """Beat writes an entry with its schedule score, and hands the lock over, in one
    transaction; on a cluster that needs a redis-py that supports transactions there."""
    if tuple(redis.VERSION[:2]) >= CLUSTER_TRANSACTIONS_SINCE:
        return
    raise ConfigurationError(
        f"Redis Cluster needs redis-py 6.1 or newer (transactions on a cluster pipeline); "
        f"redis-py {redis.__version__} is installed: pip install 'redis>=6.1'."
    )


def refuse_untagged_prefix(prefix: str) -> None:
    if keys.hash_tag(prefix) is not None:
        return
    raise ConfigurationError(
        f"The key prefix {prefix!r} has no hash tag, but Redis Cluster is configured: an "
        "entry's hash, the schedule and the lock would land in different slots, and beat's "
        "writes and scripts would fail with CROSSSLOT. Set REDBEAT_KEY_PREFIX "
        "(redbeat_key_prefix) to a prefix with a non-empty hash tag, e.g. '{redbeat}:'."
    )


def _parsed(url: str, expected: str) -> redis_urls.ParsedUrl:
    """The URL's hosts (only under the ``expected`` scheme) and its other options."""
    scheme = redis_urls.scheme_of(url)
    if scheme == "unix":
        raise ConfigurationError("Redis Sentinel and Cluster are reached over TCP, not unix://.")
    parsed = redis_urls.parse(url)
    if scheme not in (expected, "redis", "rediss"):
        parsed.hosts = []
    return parsed
