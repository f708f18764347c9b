"""Redis key names, built from the key prefix (the layout: README.rst, "How it is stored")."""

from __future__ import annotations

from django_redbeat.exceptions import InvalidEntryName

SCHEDULE_SUFFIX = ":schedule"
STATICS_SUFFIX = ":statics"
LOCK_SUFFIX = ":lock"
#: An entry's run history (a capped list) and its running marker (a string with a TTL) are
#: ``<prefix>:history:<name>`` and ``<prefix>:running:<name>``: under the reserved ``:`` start,
#: so no entry name can collide with them, and sharing the prefix's hash tag on a Cluster.
HISTORY_INFIX = ":history:"
RUNNING_INFIX = ":running:"
#: A Pub/Sub channel, not a key: saves publish to it so a sleeping beat wakes at once.
WAKEUP_SUFFIX = ":wakeup"

#: Entry names may not start with this: the scheduler's own keys live there.
RESERVED_NAME_START = ":"


def validate_entry_name(name: str) -> str:
    """Return ``name`` if it can name an entry, else raise :class:`InvalidEntryName`."""
    if not isinstance(name, str) or not name:
        raise InvalidEntryName(f"An entry name must be a non-empty string, not {name!r}.")
    if name.startswith(RESERVED_NAME_START):
        raise InvalidEntryName(
            f"Entry name {name!r} starts with {RESERVED_NAME_START!r}, which is reserved for "
            f"the scheduler's own keys ({SCHEDULE_SUFFIX}, {STATICS_SUFFIX}, {LOCK_SUFFIX}, "
            f"{HISTORY_INFIX}...)."
        )
    return name


def entry_key(prefix: str, name: str) -> str:
    return prefix + validate_entry_name(name)


def entry_name(prefix: str, key: str) -> str:
    return key[len(prefix) :] if key.startswith(prefix) else key


def history_key(prefix: str, name: str) -> str:
    return prefix + HISTORY_INFIX + name


def running_key(prefix: str, name: str) -> str:
    return prefix + RUNNING_INFIX + name


def owned_by_entry(prefix: str, name: str) -> tuple[str, ...]:
    """The keys that go when the entry goes: its hash, its run history, its running marker
    (left behind, a history would show up again under a new entry of the same name)."""
    return (entry_key(prefix, name), history_key(prefix, name), running_key(prefix, name))


def schedule_key(prefix: str) -> str:
    return prefix + SCHEDULE_SUFFIX


def statics_key(prefix: str) -> str:
    return prefix + STATICS_SUFFIX


#: Published on the prefix's wake-up channel by every save: a sleeping beat ticks at once.
WAKEUP_MESSAGE = "saved"


def wakeup_channel(prefix: str) -> str:
    return prefix + WAKEUP_SUFFIX


def lock_key(prefix: str, name: str | None = None) -> str:
    """The lock key: ``<prefix>:lock`` by default; a given name is put under the prefix."""
    if name is None:
        return prefix + LOCK_SUFFIX
    return name if name.startswith(prefix) else prefix + name


def hash_tag(prefix: str) -> str | None:
    """The Redis Cluster hash tag that every key under ``prefix`` shares, or None.

    Cluster hashes only the part of a key between its first ``{`` and the first ``}`` after it,
    when that part is not empty. A prefix that holds such a tag puts all the keys built from it
    (entries, schedule, statics, lock, handover) in one slot, whatever the entry names are.
    """
    start = prefix.find("{")
    if start < 0:
        return None
    end = prefix.find("}", start + 1)
    if end <= start + 1:  # no "}" in the prefix, or an empty tag: the whole key is hashed
        return None
    return prefix[start + 1 : end]


def prefix_pattern(prefix: str) -> str:
    """The glob that matches every key under ``prefix`` (SCAN's MATCH, an ACL key pattern): the
    prefix's own glob characters escaped, so ``{redbeat}:`` or ``a*b:`` match only themselves."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in prefix) + "*"
