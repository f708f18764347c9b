"""Default values of the settings (read through conf.py and config.py)."""

from __future__ import annotations

KEY_PREFIX = "redbeat:"

#: Seconds the beat lock lives without renewal; a crashed holder is replaced this fast.
LOCK_TIMEOUT = 30

#: The most due entries one tick loads and sends; the rest go in the next tick, so memory
#: stays flat when a long downtime leaves every entry due at once.
MAX_DUE_PER_TICK = 1000

#: Seconds an entry that cannot be decoded waits before beat tries (and logs) it again.
BROKEN_ENTRY_RETRY = 60
