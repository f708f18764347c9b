"""What the configured Redis user may do, checked once when the client is built.

An ACL user that lacks a command beat needs (the scripts, BLPOP, ...) or the keys under the
prefix would otherwise fail in the middle of a tick with a bare ``NOPERM``. The check runs each
command django-redbeat uses, once, on keys of its own under the prefix (deleted at once), and
raises :class:`ConfigurationError` naming all that is refused. Nothing is checked while Redis
cannot be reached: the check is for permissions, not availability.
"""

from __future__ import annotations

import logging
import re
import ssl
import uuid
from typing import Any

import redis

from django_redbeat.exceptions import ConfigurationError
from django_redbeat.store import keys
from django_redbeat.store.redis_urls import safe_url

logger = logging.getLogger("celery.beat")

#: Errors that mean "cannot tell now" rather than "not allowed": also a reply that is not
#: Redis's protocol (a proxy or a load balancer answering for a server that is away).
UNREACHABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.InvalidResponse,
)

#: A script that reads its key, as beat's scripts do (with a command the rule below grants).
PROBE_SCRIPT = "return redis.call('GET', KEYS[1])"
#: The claim scripts read Redis's clock: a user without TIME could not claim a slot.
TIME_PROBE_SCRIPT = "return redis.call('TIME')"

#: The ACL rule that grants what beat and the Django side use (README, "ACL users").
ACL_COMMANDS = (
    "+get +set +del +exists +expire +pexpire +pttl +hget +hmget +hset +hsetnx +hdel +hexists "
    "+hincrby +zadd +zrem +zscore +zrank +zrangebyscore +zcard +zcount +sadd +smembers +scard "
    "+rpush +lpush +lrange +lset +lrem +ltrim +blpop +multi +exec +discard +evalsha "
    "+script|load +scan +publish +subscribe +unsubscribe +ping +time"
)

_COMMAND_IN_MESSAGE = re.compile(r"'([^']+)' command")
#: What redis-py's cluster client runs besides, to learn the slots and the commands' keys.
CLUSTER_ACL_COMMANDS = "+cluster|slots +command"

_REFUSED = re.compile(r"NOPERM|no permissions|can't run this command", re.I)
_PIPELINE_NOTE = re.compile(r"^Command # \d+ \(.*\) of pipeline caused error: ")
#: A cluster redirect as text: redis-py before 6 has no MovedError/AskError outside a cluster.
_REDIRECT = re.compile(r"(?:^|of pipeline caused error: )(?:MOVED|ASK) \d+ ")


def verify(client: Any, prefix: str, url: str) -> None:
    """Raise ConfigurationError if the user cannot run what django-redbeat needs."""
    try:
        refused = _refused(client, prefix)
    except redis.exceptions.AuthenticationError as exc:
        raise ConfigurationError(
            f"Redis at {safe_url(url)} refused the credentials ({exc}). Check the user name "
            "and password in REDBEAT_REDIS_URL or REDBEAT_REDIS_OPTIONS (a password with "
            "reserved characters must be percent-encoded in a URL)."
        ) from None
    except UNREACHABLE as exc:
        _refuse_unverified_certificate(exc, url)
        _refuse_unknown_service(client, exc)
        logger.debug("beat: Redis permissions not checked (%s)", exc)
        return
    if refused:
        raise ConfigurationError(_message(refused, prefix, url))


def _refuse_unverified_certificate(exc: Exception, url: str) -> None:
    """A server certificate that fails verification: a setting to fix, not an outage."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        raise ConfigurationError(
            f"The TLS certificate of Redis at {safe_url(url)} could not be verified "
            f"({cause.verify_message or cause}). Set ssl_ca_certs to the CA that signed it "
            "(in REDBEAT_REDIS_USE_SSL or the URL's query), or ssl_cert_reqs to 'none' to "
            "skip the check (not recommended)."
        ) from None


def _refuse_unknown_service(client: Any, exc: Exception) -> None:
    """Sentinels that answer but monitor no such service: a typo, not an outage."""
    from redis.sentinel import MasterNotFoundError

    pool = getattr(client, "connection_pool", None)
    manager = getattr(pool, "sentinel_manager", None)
    if not isinstance(exc, MasterNotFoundError) or manager is None:
        return
    known: set[str] = set()
    for sentinel in manager.sentinels:
        try:
            known.update(sentinel.sentinel_masters())
        except UNREACHABLE:
            continue
    if known and pool.service_name not in known:
        raise ConfigurationError(
            f"The sentinels monitor no service named {pool.service_name!r} (they monitor "
            f"{', '.join(sorted(known))}): set service_name in REDBEAT_REDIS_URL "
            "(?service_name=...) or REDBEAT_REDIS_OPTIONS."
        )


def _refused(client: Any, prefix: str) -> dict[str, str]:
    """Each refused command (or key access) -> Redis's reason."""
    base = f"{prefix}:access-check:{uuid.uuid4().hex}"
    names = {kind: f"{base}:{kind}" for kind in ("string", "hash", "zset", "set", "list")}
    refused: dict[str, str] = {}
    _pipelined(client, names, refused)
    _transaction(client, names["string"], refused)
    _script(client, names["string"], refused)
    _attempt(refused, "scan", lambda: client.scan(0, match=f"{prefix}*", count=10))
    _attempt(refused, "publish", lambda: client.publish(f"{base}:channel", "access-check"))
    return refused


def _pipelined(client: Any, names: dict[str, str], refused: dict[str, str]) -> None:
    string, hash_, zset, set_, list_ = names.values()
    pipe = client.pipeline(transaction=False)
    pipe.set(string, "1", nx=True, px=10_000).get(string).pexpire(string, 10_000).pttl(string)
    pipe.hset(hash_, "f", "1").hsetnx(hash_, "g", "1").hget(hash_, "f").hmget(hash_, "f", "g")
    pipe.hincrby(hash_, "n", 1).hexists(hash_, "n").hdel(hash_, "g")
    pipe.zadd(zset, {"m": 1}).zscore(zset, "m").zrangebyscore(zset, 0, 1, 0, 1, withscores=True)
    pipe.zrank(zset, "m").zcard(zset).zcount(zset, 0, 1).zrem(zset, "m")
    pipe.sadd(set_, "m").smembers(set_).scard(set_)
    pipe.rpush(list_, "t").expire(list_, 10).blpop([list_], timeout=0.01)
    # the run history: a capped list (claim script, worker hook) and its reads
    pipe.lpush(list_, "r").lset(list_, 0, "r").lrange(list_, 0, -1).ltrim(list_, 0, 1)
    pipe.lrem(list_, 0, "r").exists(list_)
    for name in names.values():
        pipe.delete(name)  # one key per DEL: a cluster pipeline takes no more
    commands = [stacked[0][0] for stacked in _queued(pipe)]
    for command, result in zip(commands, pipe.execute(raise_on_error=False), strict=True):
        if isinstance(result, redis.exceptions.ResponseError):
            _classify(refused, str(command).lower(), result)


def _queued(pipe: Any) -> list[Any]:
    strategy = getattr(pipe, "_execution_strategy", None)  # a cluster pipeline
    queue = strategy.command_queue if strategy is not None else pipe.command_stack
    return [(item.args, item.options) if hasattr(item, "args") else item for item in queue]


def _transaction(client: Any, key: str, refused: dict[str, str]) -> None:
    def run() -> None:
        with client.pipeline(transaction=True) as pipe:
            pipe.set(key, "1", px=10_000).delete(key)
            pipe.execute()

    _attempt(refused, "multi", run)


def _script(client: Any, key: str, refused: dict[str, str]) -> None:
    script = client.register_script(PROBE_SCRIPT)  # EVALSHA, then SCRIPT LOAD if unknown
    _attempt(refused, "evalsha", lambda: script(keys=[key]))
    clock = client.register_script(TIME_PROBE_SCRIPT)
    _attempt(refused, "time", lambda: clock(keys=[key]))  # the key routes it on a cluster


def _attempt(refused: dict[str, str], command: str, do: Any) -> None:
    try:
        do()
    except redis.exceptions.ResponseError as exc:
        _classify(refused, command, exc)


def _classify(refused: dict[str, str], command: str, exc: redis.exceptions.ResponseError) -> None:
    text = str(exc)
    if isinstance(exc, redis.exceptions.NoPermissionError) or _REFUSED.search(text):
        named = _COMMAND_IN_MESSAGE.search(text)
        refused[named.group(1).lower() if named else command] = text
    elif isinstance(exc, redis.exceptions.AskError) or _REDIRECT.search(text):  # MovedError too
        raise ConfigurationError(
            "The Redis server is a Cluster node: use a redis-cluster:// URL or set "
            "REDBEAT_REDIS_OPTIONS['cluster'] = True (with a hash tag in the key prefix)."
        )
    elif isinstance(exc, redis.exceptions.ReadOnlyError):
        raise ConfigurationError(
            "The Redis server is a read-only replica: point REDBEAT_REDIS_URL at the master, "
            "or use Sentinel (redis-sentinel://) to follow whichever is the master."
        )
    else:
        logger.warning("beat: Redis answered %s to %s while checking permissions", text, command)


def _message(refused: dict[str, str], prefix: str, url: str) -> str:
    by_reason: dict[str, list[str]] = {}
    for command, reason in sorted(refused.items()):
        by_reason.setdefault(_PIPELINE_NOTE.sub("", reason), []).append(command)
    reasons = "; ".join(f"{reason} ({', '.join(names)})" for reason, names in by_reason.items())
    pattern = keys.prefix_pattern(prefix)
    return (
        f"The Redis user of {safe_url(url)} may not run what django-redbeat needs: {reasons}. "
        "Grant the commands, and the keys and channels under the prefix, e.g. ACL SETUSER "
        f"<user> ~{pattern} resetchannels &{pattern} {ACL_COMMANDS}"
    )
