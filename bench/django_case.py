"""django-redbeat's commands at N: ``redbeat_import``, ``redbeat_run`` startup, edit to send.

In one process: N entries in CELERY_BEAT_SCHEDULE imported into an empty database and Redis
(timed), imported again with nothing changed (timed); then the real ``redbeat_run`` command in a
thread, timed from its start to its first sleep (lock, rebuild of the N unchanged entries in
Redis, first tick), with the writes to entries it made; then tasks created through the ORM while
it sleeps (up to its 300 s max interval), each a one-off due at once, timed from ``create()`` to
its task being sent.

Writes to entries (``run_startup_writes``) are counted by Redis itself, with keyspace
notifications: each change of an entry's hash or of the schedule sorted set, whichever client
or script made it (an HSET counts even when it stores the same values; a ZADD, DEL or HSETNX that
changes nothing does not). The lock and the statics set are not entries: beat takes the lock
(SET) on every start, and rewrites the statics set only when ``beat_schedule`` changed.
``run_startup_write_commands`` is the cruder count, every write command of the server's
``INFO commandstats``, the lock's SET included.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from io import StringIO
from typing import Any

from bench import roundtrips
from bench.producer import TASK, Sends
from bench.subjects import django_setup, specs

WRITES = ("hset", "hsetnx", "zadd", "del", "zrem", "sadd", "srem")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.0005)  # polling the beat thread's state, with a deadline


def redis_writes(client: Any) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in WRITES)


class EntryWrites:
    """Counts the changes Redis makes to entries (their hashes and the schedule sorted set),
    from its keyspace notifications, read in a thread (the lock and the statics set excluded)."""

    MARKER = "bench:entry-writes:marker"

    def __init__(self, client: Any, prefix: str, schedule_key: str) -> None:
        self.client = client
        self.prefix, self.schedule_key = prefix, schedule_key
        self.count = 0
        self.marked = threading.Event()
        db = client.connection_pool.connection_kwargs.get("db", 0)
        self.channel = f"__keyspace@{db}__:"
        client.config_set("notify-keyspace-events", "KA")  # every change of every key
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe(**{f"{self.channel}{_glob_escape(prefix)}*": self._event})
        self.pubsub.subscribe(**{self.MARKER: lambda message: self.marked.set()})
        self.thread = self.pubsub.run_in_thread(sleep_time=0.05, daemon=True)

    def _event(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        key = (channel.decode() if isinstance(channel, bytes) else channel)[len(self.channel) :]
        # the scheduler's own keys (lock, statics, schedule) are <prefix>:<name>
        if key == self.schedule_key or not key[len(self.prefix) :].startswith(":"):
            self.count += 1

    def total(self) -> int:
        """The changes so far: every notification sent before this call is counted."""
        self.marked.clear()
        self.client.publish(self.MARKER, "1")  # delivered after the notifications before it
        if not self.marked.wait(60):
            raise RuntimeError("keyspace notifications: the marker did not come back")
        return self.count

    def close(self) -> None:
        self.thread.stop()
        self.thread.join(5)
        self.pubsub.close()
        self.client.config_set("notify-keyspace-events", "")


def _glob_escape(text: str) -> str:
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def run_import() -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("redbeat_import", stdout=StringIO(), stderr=StringIO())
    return time.perf_counter() - started


class RunningBeat:
    """``manage.py redbeat_run`` in a thread (a thread's beat installs no signal handlers)."""

    def __init__(self) -> None:
        from django_redbeat.management.commands.redbeat_run import Command

        self.command = Command(stdout=StringIO(), stderr=StringIO())
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="redbeat_run", daemon=True)

    def _run(self) -> None:
        from django.core.management import call_command

        try:
            call_command(self.command, loglevel="WARNING")
        except BaseException as exc:  # reported by the waits below
            self.error = exc

    def asleep(self) -> bool:
        if self.error is not None or not self.thread.is_alive() and self.command.runner is None:
            raise RuntimeError(f"redbeat_run stopped: {self.error!r}")
        runner = self.command.runner
        return runner is not None and runner.sleeping_until is not None

    def sleep_left(self) -> float:
        until = self.command.runner.sleeping_until
        return (until or time.monotonic()) - time.monotonic()

    def stop(self) -> None:
        if self.command.runner is not None:
            self.command.runner.stop()
        self.thread.join(30)


def edit_to_send(beat: RunningBeat, index: int) -> tuple[float, float]:
    """Seconds from an ORM create() to its task being sent, and the sleep beat had left."""
    from django.utils import timezone

    from django_redbeat.models import PeriodicTask

    wait_for(beat.asleep, 60, "beat to sleep")
    time.sleep(0.2)  # well inside the wait, not on its way to it
    left, before = beat.sleep_left(), Sends.count
    started = time.perf_counter()
    PeriodicTask.objects.create(  # due at once: a one-off whose time is now
        name=f"bench-edit-{index:03d}", task=TASK, kind="oneoff", run_at=timezone.now()
    )
    wait_for(lambda: Sends.count > before, 60, "the edited task to be sent")
    return (Sends.last_at or time.perf_counter()) - started, left


def run(subject: str, n: int, edits: int = 5, **_: Any) -> dict[str, Any]:
    django_setup("django-redbeat")
    roundtrips.install()
    from django.conf import settings

    from bench.celery_app import app
    from django_redbeat.models import PeriodicTask
    from django_redbeat.store.connection import get_redis

    settings.CELERY_BEAT_SCHEDULE = {
        name: {"task": TASK, "schedule": every, "args": (arg,)}
        for name, arg, every, _ in specs(n, "far")
    }
    client = get_redis(app)
    result: dict[str, Any] = {"import_s": run_import()}
    schedule_size = client.zcard(app.redbeat_conf.schedule_key)
    if PeriodicTask.objects.count() != n or schedule_size != n:
        raise RuntimeError(
            f"import wrote {PeriodicTask.objects.count()} rows, {schedule_size} keys"
        )
    result["reimport_s"] = run_import()

    conf = app.redbeat_conf
    entry_writes = EntryWrites(client.wrapped_connection, conf.key_prefix, conf.schedule_key)
    writes, trips = redis_writes(client), roundtrips.count()
    beat = RunningBeat()
    started = time.perf_counter()
    beat.thread.start()
    wait_for(beat.asleep, 1800, "redbeat_run's first sleep")
    result["run_startup_s"] = time.perf_counter() - started
    result["run_startup_write_commands"] = redis_writes(client) - writes
    result["run_startup_roundtrips"] = roundtrips.count() - trips
    result["run_startup_writes"] = entry_writes.total()
    entry_writes.close()
    try:
        latencies = [edit_to_send(beat, index) for index in range(edits)]
    finally:
        beat.stop()
    result["edit_send_ms"] = 1000 * statistics.median(seconds for seconds, _ in latencies)
    result["edit_send_max_ms"] = 1000 * max(seconds for seconds, _ in latencies)
    result["edit_sleep_left_s"] = min(left for _, left in latencies)
    return result
