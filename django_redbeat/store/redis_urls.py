"""Redis URLs: the schemes django-redbeat reads, the host lists of Sentinel and Cluster URLs,
and a form safe to show (no password).

Sentinel and Cluster URLs name several hosts, which ``urllib`` cannot parse:

- ``redis-sentinel://[user:password@]host:port[,host:port...][/db][?service_name=mymaster]``
  (kombu's ``;``-separated form, ``redis-sentinel://h1:26379;redis-sentinel://h2:26379``, too);
  the user and password are the data nodes'; the sentinels' own go in ``sentinel_kwargs``.
- ``redis-cluster://[user:password@]host:port[,host:port...]`` (any node; the rest are found).

A user name or password with reserved characters (``@ : / ? # %``) must be percent-encoded in a
URL (``urllib.parse.quote(password, safe="")``), or given as the ``username``/``password``
options instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from redis.connection import parse_url

SENTINEL_SCHEME = "redis-sentinel"
CLUSTER_SCHEME = "redis-cluster"
SCHEMES = ("redis", "rediss", "unix", SENTINEL_SCHEME, CLUSTER_SCHEME)


def is_cluster(url: object, options: object) -> bool:
    """Whether this URL and these options configure Redis Cluster."""
    by_url = isinstance(url, str) and scheme_of(url) == CLUSTER_SCHEME
    return by_url or (isinstance(options, dict) and bool(options.get("cluster")))


DEFAULT_PORTS = {SENTINEL_SCHEME: 26379}
MASK = "**"

#: Query parameters whose values are secrets.
_SECRET_PARAMETER = re.compile(r"([?&;][^=&#;]*(?:password|secret|token)[^=&#;]*=)[^&#;]*", re.I)


@dataclass
class ParsedUrl:
    scheme: str
    hosts: list[tuple[str, int]] = field(default_factory=list)
    #: Client options from the URL: username, password, db and the query's parameters.
    options: dict[str, Any] = field(default_factory=dict)


def scheme_of(url: str) -> str:
    return url.partition("://")[0].lower() if "://" in url else ""


def parse(url: str, default_port: int = 6379) -> ParsedUrl:
    """Split a URL with one host or several (``h1:p1,h2:p2`` or kombu's ``;`` form)."""
    scheme = scheme_of(url)
    if not scheme:
        raise ValueError(f"Not a Redis URL (no scheme): {safe_url(url)!r}")
    default_port = DEFAULT_PORTS.get(scheme, default_port)
    pieces = [_split(piece.partition("://")[2]) for piece in url.split(";") if piece.strip()]
    hosts = [
        _host(text, default_port) for _, found, _ in pieces for text in found.split(",") if text
    ]
    # kombu's form may carry the credentials on one piece and the db/query on another
    userinfo = next((f"{info}@" for info, _, _ in pieces if info), "")
    tail = next((rest for _, _, rest in pieces if rest), "")
    # redis-py parses the rest (credentials, db, query) as it would for a one-host URL
    options = parse_url(f"redis://{userinfo}localhost{tail}")
    for name in ("host", "port", "connection_class"):
        options.pop(name, None)
    return ParsedUrl(scheme, hosts, options)


def _split(text: str) -> tuple[str, str, str]:
    """``user:pw@h1:1,h2:2/0?q`` -> (``user:pw``, ``h1:1,h2:2``, ``/0?q``), as urllib splits."""
    end = min([len(text)] + [i for i in (text.find(c) for c in "/?#") if i >= 0])
    userinfo, _, hosts = text[:end].rpartition("@")
    return userinfo, hosts, text[end:]


def _host(text: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[::1]:port`` -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    try:
        return host, int(port) if port else default_port
    except ValueError:
        raise ValueError(f"Bad host:port {text!r} in a Redis URL") from None


def node_list(value: Any, default_port: int, setting: str) -> list[tuple[str, int]]:
    """Nodes as given in options: ``[("h", 1)]``, ``[["h", 1]]``, ``["h:1"]``,
    ``[{"host": "h", "port": 1}]`` (celery-redbeat's ``startup_nodes``)."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    nodes = []
    for item in value or ():
        if isinstance(item, str):
            nodes.append(_host(item, default_port))
        elif isinstance(item, dict) and "host" in item:
            nodes.append((str(item["host"]), int(item.get("port", default_port))))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            nodes.append((str(item[0]), int(item[1])))
        else:
            raise ValueError(
                f"{setting} must list nodes as ('host', port) pairs or 'host:port' strings, "
                f"not {type(item).__name__}"
            )
    return nodes


def safe_url(url: Any) -> str:
    """The URL with its password masked, in the user part and in the query.

    Never raises: a URL too broken to parse is masked from ``://`` to its last ``@``.
    """
    if not isinstance(url, str):
        return type(url).__name__
    url = _SECRET_PARAMETER.sub(rf"\1{MASK}", url)
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    first, *others = rest.split(";")
    masked = f"{head}://{_mask_userinfo(first)}"
    for piece in others:  # kombu's form: each piece may repeat the scheme
        scheme, sep, tail = piece.rpartition("://")
        masked += f";{scheme}{sep}{_mask_userinfo(tail)}"
    return masked


def _mask_userinfo(text: str) -> str:
    userinfo, hosts, tail = _split(text)
    if "@" in tail:  # a password that was not percent-encoded: hide all before the last @
        return f"{MASK}@{text.rpartition('@')[2]}"
    if not userinfo:
        return text
    user, colon, _password = userinfo.partition(":")
    return f"{user}:{MASK}@{hosts}{tail}" if colon else f"{MASK}@{hosts}{tail}"
