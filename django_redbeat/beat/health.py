"""Is this beat healthy? What an orchestrator's probe asks (``/healthz`` on the metrics port,
``manage.py redbeat_health``).

Healthy: it holds the lock and has ticked when it said it would (a tick returns how long beat
sleeps; a lock timeout of grace is allowed on top), or it stands by while another beat holds the
lock. Unhealthy: Redis cannot be read, nobody holds the lock, or the holder's ticks are late.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django_redbeat.beat.schedule_state import ScheduleState


@dataclass
class Health:
    healthy: bool
    reason: str


class TickWatch:
    """When the beat loop last ticked, and by when it should tick again."""

    def __init__(self, grace: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace = grace
        self._clock = clock
        self.last_tick: float | None = None
        self._expected_by = clock() + grace  # the first tick comes right after start

    def ticked(self, sleep: float) -> None:
        """A tick ended; beat sleeps ``sleep`` seconds before the next one."""
        self.last_tick = self._clock()
        self._expected_by = self.last_tick + max(0.0, sleep) + self.grace

    def late_by(self) -> float:
        """Seconds past the time the next tick was due (negative while on time)."""
        return self._clock() - self._expected_by

    def since_last_tick(self) -> float | None:
        return None if self.last_tick is None else self._clock() - self.last_tick


def judge(state: ScheduleState | None, token: str | None, ticks: TickWatch) -> Health:
    """The health of the beat whose lock token is ``token`` (None: none taken yet), given the
    schedule's ``state`` (None: Redis could not be read)."""
    if state is None:
        return Health(False, "Redis cannot be read")
    if holds_lock(state, token):
        role = "holds the lock" if state.lock_key else "sends (no lock is used)"
        return _ticking(role, ticks)
    if state.lock_token is not None:
        host, pid = state.lock_holder
        holder = f"{host} (pid {pid})" if pid is not None else repr(state.lock_token)
        ttl = f", for {state.lock_ttl:.1f} s more" if state.lock_ttl is not None else ""
        return Health(True, f"standing by: {holder} holds the lock{ttl}")
    return Health(False, f"no beat holds the lock {state.lock_key}")


def holds_lock(state: ScheduleState, token: str | None) -> bool:
    """Whether the beat of ``token`` holds the lock in ``state`` (always, when none is used)."""
    return state.lock_key is None or (token is not None and state.lock_token == token)


def _ticking(role: str, ticks: TickWatch) -> Health:
    late = ticks.late_by()
    since = ticks.since_last_tick()
    last = "no tick yet" if since is None else f"last tick {since:.1f} s ago"
    if late > 0:
        return Health(False, f"{role} but its ticks are {late:.1f} s late ({last})")
    return Health(True, f"{role}; {last}")
