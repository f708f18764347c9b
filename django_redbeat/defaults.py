"""Default values of the settings (read through conf.py and store/redbeat_config.py)."""

from __future__ import annotations

KEY_PREFIX = "redbeat:"
#: The default on Redis Cluster: the hash tag keeps an entry's keys, the schedule and the lock
#: in one slot, as beat's scripts and transactions require.
CLUSTER_KEY_PREFIX = "{redbeat}:"

#: Seconds the beat lock lives without renewal; a crashed holder is replaced this fast.
LOCK_TIMEOUT = 30

#: The most due entries one tick loads and sends; the rest go in the next tick, so memory
#: stays flat when a long downtime leaves every entry due at once.
MAX_DUE_PER_TICK = 1000

#: Seconds an entry that cannot be decoded waits before beat tries (and logs) it again.
BROKEN_ENTRY_RETRY = 60

#: Dotted path of the Celery app that sync, the admin and commands use; None: Celery's current app.
CELERY_APP = None

#: Seconds past a run's scheduled time (on Redis's clock) after which a standby sends it itself:
#: the lock holder sends on time, so a run this late means the holder is dead, frozen or cut off.
STANDBY_GRACE = 1.5

#: Seconds between a standby's light ticks (each one script call, the lock's state with it).
STANDBY_INTERVAL = 1.0

#: Seconds a slot whose send failed (broker down) is retried before it is counted as missed.
SEND_RETRY_WINDOW = 300

#: The lock is renewed every this fraction of its timeout, and standbys retry as often.
LOCK_RENEWAL_FRACTION = 1 / 3

#: Longest that beat's Redis retries may block, as a fraction of the lock timeout: a holder
#: stuck retrying must not outlive its lock.
RETRY_FRACTION_OF_LOCK = 0.5

#: Seconds a Redis call made for a web request (an admin save, a sync) is retried.
REQUEST_RETRY_PERIOD = 1.0

#: The address the metrics endpoint listens on (all interfaces: Prometheus scrapes from outside).
METRICS_ADDRESS = "0.0.0.0"

#: The most entries that get a label of their own in beat's per-entry counters; the others are
#: counted together under ``entry="_other"``, so a large schedule cannot flood Prometheus.
METRICS_ENTRY_LABELS = 100

#: Runs kept in each entry's history (scheduled and sent times, task id, beat, outcome); 0: none.
HISTORY_LENGTH = 20

#: Whether the Django app connects the worker hook (run outcomes, overlap, pause on failure)
#: in every process that loads it, Celery workers included.
WORKER_HOOK = True
